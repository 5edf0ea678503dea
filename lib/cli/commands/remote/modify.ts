import { Command } from "@commander-js/extra-typings";
import { remoteModify } from "../../../engine/remote.ts";
import { type RunState, runWith, withCommonOptions } from "../../command_kit.ts";
import { addLevelOptions, levelOf } from "./level_options.ts";

/** `dxp remote modify [-u] NAME OPTION [VALUE]`. */
export function remoteModifyCommand(state: RunState) {
  const cmd = new Command("modify")
    .description("Modify the configuration of a data remote.")
    .argument("<name>", "name of the remote")
    .argument("<option>", "name of the option to modify")
    .argument("[value]", "value of the option")
    .option("-u, --unset", "unset option");
  withCommonOptions(cmd);
  addLevelOptions(cmd);
  return cmd.action((name, option, value, opts, command) =>
    runWith(state, command, async (ctx) => {
      await remoteModify({
        cwd: ctx.cwd,
        env: ctx.env,
        level: levelOf(command),
        name,
        option,
        value,
        unset: opts.unset ?? false,
      });
    })
  );
}
