import { openTransport } from "../../git/transport/registry.ts";
import type { Transport } from "../../git/transport/types.ts";
import { fetchObjectsById, type ObjectFetcher, promisorRemoteName } from "../../git/promisor.ts";
import { resolveGitRemote } from "../../project/git_remote.ts";
import { redactUrl } from "../../util/redact.ts";
import type { Project } from "../../project/project.ts";

/** A transport opener bound to a project's Git config (for library users of the engines). */
export function transportFor(
  project: Project,
  onDebug?: (line: string) => void,
): (url: string) => Transport {
  return (url) =>
    openTransport(url, {
      env: project.env,
      cwd: project.gitWorkTree,
      gitConfig: (key) => project.gitConfig.get(key),
      ...(onDebug ? { onDebug } : {}),
    });
}

/** A partial clone's promisor remote and how to fetch the objects it keeps. */
export interface Promisor {
  /** Its fetch URL (after insteadOf), to recognise fetches from it. */
  readonly fetchUrl: string;
  /** Fetches objects by id into the project's repository, one session per call. */
  readonly fetch: ObjectFetcher;
}

/**
 * The promisor remote of a partial clone (`git clone --filter=…`), or
 * undefined for a complete clone. Objects are fetched from it as git's lazy
 * fetch does: by id, in one request, stored as a promisor pack.
 */
export function promisorFor(
  project: Project,
  open: (url: string) => Transport,
): Promisor | undefined {
  const name = promisorRemoteName(project.gitConfig);
  if (name === undefined) return undefined;
  const { fetchUrl } = resolveGitRemote(name, project.gitConfig);
  return {
    fetchUrl,
    async fetch(oids) {
      let transport: Transport | undefined;
      // No refs are needed: ask for as few as the protocol allows.
      const session = () => (transport ??= open(fetchUrl)).openFetch({ prefixes: ["HEAD"] });
      await fetchObjectsById(project.gitDir, session, oids, redactUrl(fetchUrl));
    },
  };
}
