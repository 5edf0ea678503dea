import { Command } from "@commander-js/extra-typings";
import type { RunState } from "../../command_kit.ts";
import { expListCommand } from "./list.ts";

/** `dxp exp …` (alias `experiments`): share experiments. */
export function expCommand(state: RunState) {
  return new Command("exp")
    .alias("experiments")
    .description("Share and inspect DVC experiments.")
    .addCommand(expListCommand(state));
}
