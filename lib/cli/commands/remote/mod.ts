import { Command } from "@commander-js/extra-typings";
import type { RunState } from "../../command_kit.ts";
import { remoteAddCommand } from "./add.ts";
import { remoteDefaultCommand } from "./default.ts";
import { remoteListCommand } from "./list.ts";
import { remoteLoginCommand } from "./login.ts";
import { remoteModifyCommand } from "./modify.ts";
import { remoteRemoveCommand } from "./remove.ts";
import { remoteRenameCommand } from "./rename.ts";

/** `dxp remote …`: manage DVC remotes in the config files. */
export function remoteCommand(state: RunState) {
  return new Command("remote")
    .description("Set up and manage data remotes.")
    .addCommand(remoteAddCommand(state))
    .addCommand(remoteDefaultCommand(state))
    .addCommand(remoteModifyCommand(state))
    .addCommand(remoteListCommand(state))
    .addCommand(remoteLoginCommand(state))
    .addCommand(remoteRemoveCommand(state))
    .addCommand(remoteRenameCommand(state));
}
