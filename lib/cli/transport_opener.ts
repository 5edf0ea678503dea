import type { Transport } from "../git/transport/types.ts";
import type { Project } from "../project/project.ts";
import type { CliContext } from "./context.ts";

/**
 * Binds the transport registry to the project's Git config and the CLI's
 * debug output. Loaded when a command needs it: the Git transports (HTTP,
 * SSH) are not part of every command's start-up.
 */
export async function transportOpener(
  project: Project,
  ctx: CliContext,
): Promise<(url: string) => Transport> {
  const { transportFor } = await import("../engine/exp/transport_for.ts");
  return transportFor(project, (line) => ctx.debug(line));
}
