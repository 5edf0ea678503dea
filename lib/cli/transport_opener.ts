import { transportFor } from "../engine/exp/transport_for.ts";
import type { Transport } from "../git/transport/types.ts";
import type { Project } from "../project/project.ts";
import type { CliContext } from "./context.ts";

/** Binds the transport registry to the project's Git config and the CLI's debug output. */
export function transportOpener(project: Project, ctx: CliContext): (url: string) => Transport {
  return transportFor(project, (line) => ctx.debug(line));
}
