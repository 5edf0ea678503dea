/**
 * Pushes refs from a local repository through dxp's own transport and prints
 * `{"results": [...]}` or `{"error": {"name", "message"}}` as one JSON line.
 * transport_suite.ts runs it in a child process as another user, for remotes
 * that our own process writes (local paths): file modes then bind the writer
 * even when the tests run as root.
 *
 *   bun push_refs_child.ts <url> <gitdir> <ref>=<sha>...
 */
import process from "node:process";
import { buildPack } from "../../lib/git/pack/build_pack.ts";
import { objectsToSend } from "../../lib/git/pack/objects_to_send.ts";
import { openTransport } from "../../lib/git/transport/registry.ts";
import { ZERO_OID } from "../../lib/git/transport/types.ts";

const [url, gitdir, ...pairs] = process.argv.slice(2);
const refs = pairs.map((pair) => pair.split("=") as [string, string]);
try {
  const transport = openTransport(url!, {
    env: process.env,
    cwd: "/",
    gitConfig: () => undefined,
  });
  const session = await transport.openPush();
  try {
    const remoteHas = [...session.advertisement.refs.values()];
    const oids = await objectsToSend(gitdir!, refs.map(([, sha]) => sha), remoteHas);
    const pack = await buildPack(gitdir!, oids);
    const results = await session.send(
      refs.map(([ref, sha]) => ({ ref, oldOid: ZERO_OID, newOid: sha })),
      pack,
      { atomic: false },
    );
    console.log(JSON.stringify({ results }));
  } finally {
    await session.close();
  }
} catch (error) {
  const { name, message } = error as Error;
  console.log(JSON.stringify({ error: { name, message } }));
}
