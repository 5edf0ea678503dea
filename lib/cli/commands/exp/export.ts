import { existsSync } from "node:fs";
import process from "node:process";
import { resolve } from "node:path";
import { Command, InvalidArgumentError as CommanderArgError } from "@commander-js/extra-typings";
import type { ExpExportResult } from "../../../engine/exp/export.ts";
import { InvalidArgumentError } from "../../../errors/mod.ts";
import { humanJoin } from "../../../util/mod.ts";
import {
  collect,
  parseIntOption,
  runLocked,
  type RunState,
  withCommonOptions,
} from "../../command_kit.ts";
import type { CliContext } from "../../context.ts";
import { displayNames } from "../../render/exp_sync.ts";
import { progressDisplay } from "../../render/progress.ts";
import { VERSION } from "../../version.ts";

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  tb: 1000 ** 4,
};

/** `--split` sizes: `4G`, `650M`, `4000MB`, `1048576` (K/M/G/T are powers of 1024, KB/MB/… of 1000). */
export function parseSize(text: string): number {
  const m = /^(\d+)\s*([A-Za-z]*)$/.exec(text.trim());
  const unit = UNITS[(m?.[2] ?? "?").toLowerCase()];
  const bytes = m && unit !== undefined ? Number(m[1]) * unit : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1024) {
    throw new CommanderArgError(
      `invalid size '${text}': use e.g. 4G, 650M or 4000MB (at least 1K)`,
    );
  }
  return bytes;
}

/** Writes to the process's stdout, resolving once the chunk was handed over. */
export function stdoutWriter(): (chunk: Uint8Array) => Promise<void> {
  return (chunk) =>
    new Promise((done, fail) => {
      process.stdout.write(chunk, (error) => (error ? fail(error) : done()));
    });
}

/** `dxp exp export [EXP…] -o FILE`: experiments and their data in one file, for air-gapped sites. */
export function expExportCommand(state: RunState) {
  return withCommonOptions(
    new Command("export")
      .description(
        "Write experiments (refs, commits) and their DVC data from the local cache into one file " +
          "(a tar holding a Git bundle and a DVC remote layout) for 'dxp exp import' elsewhere.",
      )
      .argument("[experiment...]", "experiments to export: names or full refs/exps/… refs"),
  )
    .requiredOption("-o, --output <file>", "file to write ('-': standard output)")
    .option("-A, --all-commits", "export all experiments")
    .option(
      "--rev <commit>",
      "export experiments derived from this baseline (repeatable, default HEAD)",
      collect,
    )
    .option(
      "-n, --num <num>",
      "also take this many first-parent ancestors of each --rev (negative: all)",
      parseIntOption,
      1,
    )
    .option("--no-cache", "refs and commits only, no DVC data")
    .option(
      "--since <file_or_rev>",
      "leave out what an earlier export file (or a Git revision) gave the receiver (repeatable)",
      collect,
    )
    .option("--have <file>", "leave out what the receiver has, as 'dxp exp have' wrote it")
    .option(
      "--split <size>",
      "write volumes FILE.001, FILE.002, … of this size (e.g. 4G)",
      parseSize,
    )
    .option("--json", "print the result as JSON")
    .option("--no-progress", "no progress output")
    .action((names, opts, command) =>
      runLocked(state, command, async (ctx, project) => {
        const toStdout = opts.output === "-";
        if (toStdout && opts.split !== undefined) {
          throw new InvalidArgumentError("--split needs a file (-o FILE), not standard output.");
        }
        if (toStdout && process.stdout.isTTY) {
          throw new InvalidArgumentError(
            "Refusing to write an export to a terminal: redirect standard output or use -o FILE.",
          );
        }
        const { expExport } = await import("../../../engine/exp/export.ts");
        const progress = await progressDisplay(ctx, opts.progress && !opts.json);
        let result: ExpExportResult;
        try {
          result = await expExport(project, {
            names,
            allCommits: opts.allCommits ?? false,
            revs: opts.rev ?? [],
            num: opts.num,
            output: toStdout ? { write: stdoutWriter() } : {
              path: resolve(ctx.cwd, opts.output),
              ...(opts.split !== undefined ? { split: opts.split } : {}),
            },
            noCache: !opts.cache,
            since: (opts.since ?? []).map((s) => sinceArg(ctx, s)),
            ...(opts.have !== undefined ? { have: resolve(ctx.cwd, opts.have) } : {}),
            dxpVersion: VERSION,
            signal: ctx.signal,
            onProgress: (p) => progress.update(p),
            onDebug: (line) => ctx.debug(line),
          });
        } finally {
          progress.stop();
        }
        // With the archive on stdout, everything else goes to stderr.
        const say = toStdout ? ctx.err : ctx.out;
        if (opts.json) say(`${JSON.stringify(exportJson(result, opts.output), null, 2)}\n`);
        else say(renderExport(result, opts.output));
        return 0;
      })
    );
}

/** A `--since` argument: a path when a file (or its first volume) is there, else a revision. */
function sinceArg(ctx: CliContext, spec: string): string {
  const path = resolve(ctx.cwd, spec);
  return existsSync(path) || existsSync(`${path}.001`) ? path : spec;
}

function renderExport(result: ExpExportResult, output: string): string {
  if (result.experiments.length === 0) return "No experiments to export.\n";
  const labels = displayNames(
    result.experiments.map((e) => ({
      ...e,
      previousSha: undefined,
      status: "success",
      forced: false,
    })),
  );
  const names = humanJoin(result.experiments.map((e) => labels.get(e.ref)!));
  const where = output === "-"
    ? "standard output"
    : result.files.length > 1
    ? `'${output}' in ${result.files.length} volumes ('${output}.001' to '${output}${
      lastSuffix(result.files)
    }')`
    : `'${output}'`;
  let text = `Exported experiment ${names} to ${where}.\n`;
  if (result.objects > 0) {
    text += `${result.objects} ${result.objects === 1 ? "file" : "files"} exported\n`;
  }
  if (result.objectsLeftOut > 0) {
    text += `${result.objectsLeftOut} ${
      result.objectsLeftOut === 1 ? "file" : "files"
    } left out: the receiver has them\n`;
  }
  return text;
}

function lastSuffix(files: readonly string[]): string {
  const last = files[files.length - 1]!;
  return last.slice(last.lastIndexOf("."));
}

function exportJson(result: ExpExportResult, output: string): Record<string, unknown> {
  return {
    exported: result.experiments.map((e) => e.name),
    file: output === "-" ? null : output,
    files: result.files,
    objects: result.objects,
    object_bytes: result.objectBytes,
    objects_left_out: result.objectsLeftOut,
    git_objects: result.gitObjects,
    prerequisites: result.prerequisites,
    bytes: result.bytes,
    refs: result.experiments,
  };
}
