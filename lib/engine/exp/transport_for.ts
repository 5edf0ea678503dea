import { openTransport } from "../../git/transport/registry.ts";
import type { Transport } from "../../git/transport/types.ts";
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
