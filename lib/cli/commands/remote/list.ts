import { Command } from "@commander-js/extra-typings";
import { remoteList } from "../../../engine/remote.ts";
import { type RunState, runWith, withCommonOptions } from "../../command_kit.ts";
import { addLevelOptions, levelOf } from "./level_options.ts";
import { renderRemoteList } from "./render_list.ts";

/** `dxp remote list`: one line per remote, as `dvc remote list` prints it. */
export function remoteListCommand(state: RunState) {
  const cmd = new Command("list").description("List all available data remotes.");
  withCommonOptions(cmd);
  addLevelOptions(cmd);
  return cmd.action((_opts, command) =>
    runWith(state, command, async (ctx) => {
      const entries = await remoteList({ cwd: ctx.cwd, env: ctx.env, level: levelOf(command) });
      ctx.out(renderRemoteList(entries));
    })
  );
}
