import process from "node:process";
import { Command, Option } from "@commander-js/extra-typings";
import { DEFAULT_PRECISION } from "../../../engine/exp/show_format.ts";
import { openProject } from "../../../project/project.ts";
import {
  collect,
  parseIntOption,
  type RunState,
  runWith,
  withCommonOptions,
} from "../../command_kit.ts";
import { renderExpShow } from "../../render/exp_show.ts";
import { renderExpShowJson } from "../../render/exp_show_json.ts";

/** `dxp exp show`: the workspace, baselines and their experiments with metrics and params. */
export function expShowCommand(state: RunState) {
  return withCommonOptions(
    new Command("show").description(
      "Print a table of the workspace, baselines and their experiments with their metrics and params.",
    ),
  )
    .option("-A, --all-commits", "show every commit of the repository as a baseline")
    .option(
      "--rev <commit>",
      "show this baseline and its experiments (repeatable, default HEAD)",
      collect,
    )
    .option(
      "-n, --num <num>",
      "also show this many first-parent ancestors of each --rev (negative: all)",
      parseIntOption,
      1,
    )
    .option("--param-deps", "show only params that are stage dependencies")
    .option("--sort-by <column>", "sort experiments by this metric or param ([file:]key)")
    .addOption(
      new Option("--sort-order <order>", "sort order for --sort-by").choices(
        ["asc", "desc"] as const,
      )
        .default("asc" as const),
    )
    .option("--only-changed", "show only metrics and params whose values differ between rows")
    .option("--drop <regex>", "hide columns whose name matches")
    .option(
      "--keep <regex>",
      "always show columns whose name matches (overrides --drop, --only-changed)",
    )
    .option(
      "--precision <n>",
      `significant digits of floats (default ${DEFAULT_PRECISION}; --csv: all)`,
      parseIntOption,
    )
    .option("--no-pager", "accepted for DVC compatibility (dxp never pages)")
    .addOption(new Option("--json", "print the data as JSON").conflicts(["csv", "md"]))
    .addOption(new Option("--csv", "print the table as CSV").conflicts("md"))
    .addOption(new Option("--md", "print the table as Markdown"))
    .action((opts, command) =>
      runWith(state, command, async (ctx) => {
        const project = openProject(ctx.cwd, ctx.env);
        const { expShow } = await import("../../../engine/exp/show.ts");
        const { expShowTable } = await import("../../../engine/exp/show_table.ts");
        const result = await expShow(project, {
          allCommits: opts.allCommits ?? false,
          revs: opts.rev ?? [],
          num: opts.num,
          paramDeps: opts.paramDeps ?? false,
        });
        for (
          const rev of [result.workspace, ...result.baselines.flatMap((b) => [b, ...b.experiments])]
        ) {
          const where = rev.rev === "workspace" ? "workspace" : rev.rev.slice(0, 7);
          for (const error of new Set(rev.errors)) ctx.err(`WARNING: ${where}: ${error}\n`);
        }
        if (opts.json) {
          ctx.out(renderExpShowJson(result));
          return;
        }
        const table = expShowTable(result, {
          ...(opts.sortBy !== undefined ? { sortBy: opts.sortBy, sortOrder: opts.sortOrder } : {}),
          onlyChanged: opts.onlyChanged ?? false,
          ...(opts.drop !== undefined ? { drop: opts.drop } : {}),
          ...(opts.keep !== undefined ? { keep: opts.keep } : {}),
          precision: opts.precision ?? (opts.csv ? null : DEFAULT_PRECISION),
        });
        // Only a terminal gets a width limit and bold text; pipes get the full table.
        const tty = Boolean(process.stdout.isTTY) && !opts.csv && !opts.md;
        const color = tty && ctx.env["NO_COLOR"] === undefined && ctx.env["TERM"] !== "dumb";
        ctx.out(renderExpShow(table, opts.csv ? "csv" : opts.md ? "md" : "table", {
          ...(tty ? { width: process.stdout.columns || Number(ctx.env["COLUMNS"]) || 80 } : {}),
          color,
        }));
      })
    );
}
