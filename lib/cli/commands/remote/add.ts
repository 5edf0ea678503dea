import { Command } from "@commander-js/extra-typings";
import { remoteAdd } from "../../../engine/remote.ts";
import { type RunState, runWith, withCommonOptions } from "../../command_kit.ts";
import { addLevelOptions, levelOf } from "./level_options.ts";

/** `dxp remote add [-d] [-f] NAME URL`. */
export function remoteAddCommand(state: RunState) {
  const cmd = new Command("add")
    .description("Add a new data remote.")
    .argument("<name>", "name of the remote")
    .argument("<url>", "remote location (path, s3://, ssh://, https://, …)")
    .option("-d, --default", "set as default remote")
    .option("-f, --force", "force overwriting existing configs");
  withCommonOptions(cmd);
  addLevelOptions(cmd);
  return cmd.action((name, url, opts, command) =>
    runWith(state, command, async (ctx) => {
      // DVC announces the default before it edits (and fails) the config.
      if (opts.default) ctx.out(`Setting '${name.toLowerCase()}' as a default remote.\n`);
      await remoteAdd({
        cwd: ctx.cwd,
        env: ctx.env,
        level: levelOf(command),
        name,
        url,
        setDefault: opts.default ?? false,
        force: opts.force ?? false,
      });
    })
  );
}
