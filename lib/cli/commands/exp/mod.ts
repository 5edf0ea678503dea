import { Command } from "@commander-js/extra-typings";
import type { RunState } from "../../command_kit.ts";

/** `dxp exp …` (alias `experiments`): share experiments. */
export function expCommand(_state: RunState) {
  return new Command("exp").alias("experiments").description("Share and inspect DVC experiments.");
}
