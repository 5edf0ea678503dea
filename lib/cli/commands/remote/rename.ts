import { Command } from "@commander-js/extra-typings";
import { remoteRename } from "../../../engine/remote.ts";
import { type RunState, runWith, withCommonOptions } from "../../command_kit.ts";
import { addLevelOptions, levelOf } from "./level_options.ts";

/** `dxp remote rename OLD NEW`. */
export function remoteRenameCommand(state: RunState) {
  const cmd = new Command("rename")
    .description("Rename a DVC remote.")
    .argument("<name>", "remote to be renamed")
    .argument("<new>", "new name of the remote");
  withCommonOptions(cmd);
  addLevelOptions(cmd);
  return cmd.action((name, newName, _opts, command) =>
    runWith(state, command, async (ctx) => {
      await remoteRename({ cwd: ctx.cwd, env: ctx.env, level: levelOf(command), name, newName });
    })
  );
}
