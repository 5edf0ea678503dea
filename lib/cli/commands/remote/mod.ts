import { Command } from "@commander-js/extra-typings";
import type { RunState } from "../../command_kit.ts";

/** `dxp remote …`: manage DVC remotes in the config files. */
export function remoteCommand(_state: RunState) {
  return new Command("remote").description("Set up and manage DVC remote storage.");
}
