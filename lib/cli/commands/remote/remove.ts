import { Command } from "@commander-js/extra-typings";
import { remoteRemove } from "../../../engine/remote.ts";
import { type RunState, runWith, withCommonOptions } from "../../command_kit.ts";
import { addLevelOptions, levelOf } from "./level_options.ts";

/** `dxp remote remove NAME`. */
export function remoteRemoveCommand(state: RunState) {
  const cmd = new Command("remove")
    .description("Remove a data remote.")
    .argument("<name>", "name of the remote to remove");
  withCommonOptions(cmd);
  addLevelOptions(cmd);
  return cmd.action((name, _opts, command) =>
    runWith(state, command, async (ctx) => {
      await remoteRemove({ cwd: ctx.cwd, env: ctx.env, level: levelOf(command), name });
    })
  );
}
