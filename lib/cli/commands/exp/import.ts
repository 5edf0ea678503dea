import process from "node:process";
import { resolve } from "node:path";
import { Command } from "@commander-js/extra-typings";
import { InvalidArgumentError, UsageError } from "../../../errors/mod.ts";
import { runLocked, type RunState, withCommonOptions } from "../../command_kit.ts";
import { expSyncJson, renderExpPull } from "../../render/exp_sync.ts";
import { progressDisplay } from "../../render/progress.ts";
import { applyAndReport } from "./apply.ts";

/** `dxp exp import FILE|- [EXP…]`: experiments and their data from a file `exp export` wrote. */
export function expImportCommand(state: RunState) {
  return withCommonOptions(
    new Command("import")
      .description(
        "Import experiments and their DVC data from a file written by 'dxp exp export' " +
          "(checked whole first; then the cache, then refs/exps/, with exp pull's rules).",
      )
      .argument("<file>", "the export file, its first volume FILE.001, or '-' for standard input")
      .argument(
        "[experiment...]",
        "import only these experiments of the file (names or full refs)",
      ),
  )
    .option("-f, --force", "replace diverged local experiments")
    .option(
      "--apply",
      "then apply the imported experiment to the workspace (exactly one experiment)",
    )
    .option("--json", "print the result as JSON")
    .option("--dry-run", "check the whole file and say what would be imported, change nothing")
    .option("--no-progress", "no progress output")
    .action((file, names, opts, command) =>
      runLocked(state, command, async (ctx, project) => {
        if (opts.apply && names.length > 1) {
          throw new UsageError("--apply needs exactly one experiment name or ref.");
        }
        if (file === "-" && process.stdin.isTTY) {
          throw new InvalidArgumentError(
            "Standard input is a terminal: pipe an export into 'dxp exp import -' or name the file.",
          );
        }
        const { expImport } = await import("../../../engine/exp/import.ts");
        const progress = await progressDisplay(ctx, opts.progress && !opts.json);
        let result;
        try {
          result = await expImport(project, {
            input: file === "-"
              ? { stream: process.stdin as AsyncIterable<Uint8Array> }
              : { path: resolve(ctx.cwd, file), label: file },
            names,
            force: opts.force ?? false,
            dryRun: opts.dryRun ?? false,
            exactlyOne: opts.apply ?? false,
            signal: ctx.signal,
            onProgress: (p) => progress.update(p),
            onDebug: (line) => ctx.debug(line),
          });
        } finally {
          progress.stop();
        }
        const rendered = renderExpPull(result, false);
        if (opts.json) {
          ctx.out(`${JSON.stringify(expSyncJson(result, "pull"), null, 2)}\n`);
          return rendered.exitCode;
        }
        ctx.err(rendered.stderr);
        ctx.out(rendered.stdout);
        const imported = result.entries.find((e) =>
          e.status === "success" || e.status === "up_to_date"
        );
        if (opts.apply && imported && rendered.exitCode === 0 && !result.dryRun) {
          await applyAndReport(ctx, project, imported.ref, names[0] ?? imported.name);
        }
        return rendered.exitCode;
      })
    );
}
