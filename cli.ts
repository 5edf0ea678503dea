#!/usr/bin/env -S deno run -A
/** The dxp executable: parse argv, run, exit with the command's code. */
import process from "node:process";
import { main } from "./lib/cli/main.ts";

const code = await main(process.argv.slice(2));
process.exitCode = code;
// A handle left open by a library (a socket in keep-alive, a timer) must not
// keep a finished command alive; the unref'd timer only fires in that case.
setTimeout(() => process.exit(code), 200).unref();
