import { Command } from "@commander-js/extra-typings";
import { remoteDefaultGet, remoteDefaultSet } from "../../../engine/remote.ts";
import { type RunState, runWith, withCommonOptions } from "../../command_kit.ts";
import { addLevelOptions, levelOf } from "./level_options.ts";

/** `dxp remote default [NAME] [-u]`: print, set or unset the default remote. */
export function remoteDefaultCommand(state: RunState) {
  const cmd = new Command("default")
    .description("Set/unset the default data remote.")
    .argument("[name]", "name of the remote")
    .option("-u, --unset", "unset default remote");
  withCommonOptions(cmd);
  addLevelOptions(cmd);
  return cmd.action((name, opts, command) =>
    runWith(state, command, async (ctx) => {
      const scope = { cwd: ctx.cwd, env: ctx.env, level: levelOf(command) };
      if (name === undefined && !opts.unset) {
        const current = await remoteDefaultGet(scope);
        // DVC prints this on stdout and exits 1 (no ERROR line).
        ctx.out(`${current ?? "No default remote set"}\n`);
        return current === undefined ? 1 : 0;
      }
      await remoteDefaultSet({ ...scope, name, unset: opts.unset ?? false });
    })
  );
}
