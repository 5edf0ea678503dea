import type { Transport } from "../git/transport/types.ts";
import { openTransport } from "../git/transport/registry.ts";
import type { Project } from "../project/project.ts";
import type { CliContext } from "./context.ts";

/** Binds the transport registry to the project's Git config and the CLI's debug output. */
export function transportOpener(project: Project, ctx: CliContext): (url: string) => Transport {
  return (url) =>
    openTransport(url, {
      env: ctx.env,
      cwd: project.gitWorkTree,
      gitConfig: (key) => project.gitConfig.get(key),
      onDebug: (line) => ctx.debug(line),
    });
}
