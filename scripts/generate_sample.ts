/**
 * Generates a DVC sample project (like the basic fixture) without DVC or git:
 *
 *   deno run -A scripts/generate_sample.ts <outdir> [--files N] [--file-size BYTES]
 *     [--big-file BYTES] [--experiments N] [--same-big-file] [--shared-names]
 *
 * Prints the resulting SampleInfo (without per-commit object lists) as JSON.
 */
import process from "node:process";
import { generateSample, type SampleOptions } from "./sample/generate.ts";

const NUMERIC: Record<string, "files" | "fileSize" | "bigFile" | "experiments"> = {
  "--files": "files",
  "--file-size": "fileSize",
  "--big-file": "bigFile",
  "--experiments": "experiments",
};

function usage(message: string): never {
  console.error(
    `${message}\nusage: generate_sample.ts <outdir> [--files N] [--file-size BYTES] [--big-file BYTES] [--experiments N] [--same-big-file] [--shared-names]`,
  );
  process.exit(2);
}

const args = process.argv.slice(2);
const options: SampleOptions = {};
let outDir: string | undefined;
for (let i = 0; i < args.length; i++) {
  const arg = args[i]!;
  const [flag, inline] = arg.startsWith("--") && arg.includes("=")
    ? arg.split(/=(.*)/s) as [string, string]
    : [arg, undefined];
  const key = NUMERIC[flag];
  if (key !== undefined) {
    const text = inline ?? args[++i];
    if (text === undefined || !/^\d+$/.test(text)) usage(`${flag} needs a non-negative integer`);
    options[key] = Number(text);
  } else if (flag === "--same-big-file") {
    options.sameBigFile = true;
  } else if (flag === "--shared-names") {
    options.sharedNames = true;
  } else if (flag.startsWith("-")) {
    usage(`unknown option '${flag}'`);
  } else if (outDir === undefined) {
    outDir = flag;
  } else {
    usage(`unexpected argument '${flag}'`);
  }
}
if (outDir === undefined) usage("missing <outdir>");

const started = performance.now();
const info = await generateSample(outDir, options);
const summary = {
  ...info,
  baselines: info.baselines.map(({ objects, ...rest }) => ({
    ...rest,
    objectCount: objects.length,
  })),
  experiments: info.experiments.map(({ objects, ...rest }) => ({
    ...rest,
    objectCount: objects.length,
  })),
  seconds: Number(((performance.now() - started) / 1000).toFixed(2)),
};
console.log(JSON.stringify(summary, null, 2));
