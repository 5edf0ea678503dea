import { Command, Option } from "@commander-js/extra-typings";
import { collect, runLocked, type RunState, withCommonOptions } from "../../command_kit.ts";

const UNTRACKED_WARNING =
  "WARNING: The following untracked files were present in the workspace before saving but will not be included in the experiment commit:";

/** `dxp exp save [TARGETS…]`: record the workspace as an experiment without running anything. */
export function expSaveCommand(state: RunState) {
  return withCommonOptions(
    new Command("save")
      .description(
        "Save the current workspace as an experiment: hash outputs into the DVC cache, " +
          "update dvc.lock and .dvc files, commit on top of HEAD under refs/exps (HEAD does not move).",
      )
      .argument("[targets...]", "stages, stage files or outputs to save (default: all)")
      .option("-R, --recursive", "a directory target selects every stage file below it")
      .option("-f, --force", "replace an existing experiment of the same name")
      .option("--json", 'print {"ref": "<experiment commit>"} instead of the name')
      .option("-n, --name <name>", "name of the experiment (default: a random one)")
      .addOption(
        new Option(
          "-I, --include-untracked <path>",
          "also commit this untracked (even Git-ignored) file or folder; repeatable",
        ).argParser(collect),
      )
      .option("-m, --message <message>", "commit message (default: DVC's)"),
  )
    .action((targets, opts, command) =>
      runLocked(state, command, async (ctx, project) => {
        const { expSave } = await import("../../../engine/exp/save/save.ts");
        const result = await expSave(project, {
          name: opts.name,
          force: opts.force ?? false,
          includeUntracked: opts.includeUntracked ?? [],
          message: opts.message,
          targets,
          recursive: opts.recursive ?? false,
          cwd: ctx.cwd,
          signal: ctx.signal,
        });
        for (const line of result.info) ctx.out(`${line}\n`);
        for (const warning of result.warnings) ctx.err(`WARNING: ${warning}\n`);
        if (result.untracked.length > 0) {
          ctx.err(`${UNTRACKED_WARNING}\n\t${result.untracked.join(", ")}\n`);
        }
        if (opts.json) ctx.out(`{"ref": "${result.sha}"}\n`);
        else ctx.out(`Experiment has been saved as: ${result.name}\n`);
        return 0;
      })
    );
}
