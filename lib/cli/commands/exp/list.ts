import { Command, Option } from "@commander-js/extra-typings";
import { InvalidArgumentError } from "../../../errors/mod.ts";
import {
  collect,
  openCheckedProject,
  parseIntOption,
  type RunState,
  runWith,
  withCommonOptions,
} from "../../command_kit.ts";
import { renderExpList } from "../../render/exp_list.ts";
import { transportOpener } from "../../transport_opener.ts";

/** `dxp exp list [git_remote]` (alias `ls`). */
export function expListCommand(state: RunState) {
  const cmd = withCommonOptions(
    new Command("list")
      .alias("ls")
      .description(
        "List experiments of the current baseline, of --rev baselines, or all (-A); locally or on a Git remote.",
      )
      .argument("[git_remote]", "Git remote name or URL to list experiments from"),
  )
    .option("-A, --all-commits", "list all experiments, whatever their baseline")
    .option(
      "--rev <commit>",
      "list experiments derived from this baseline (repeatable, default HEAD)",
      collect,
    )
    .option(
      "-n, --num <num>",
      "also take this many first-parent ancestors of each --rev (negative: all)",
      parseIntOption,
      1,
    )
    .addOption(
      new Option("--name-only, --names-only", "print only names").conflicts(["shasOnly", "json"]),
    )
    .addOption(
      new Option("--sha-only, --shas-only", "print only experiment commit SHAs").conflicts("json"),
    )
    .option("--json", "print a JSON array of {baseline, label, name, ref, sha}");
  return cmd.action((gitRemote, opts, command) =>
    runWith(state, command, async (ctx) => {
      if (opts.shasOnly && gitRemote !== undefined) {
        throw new InvalidArgumentError("--sha-only not supported with git_remote.");
      }
      const project = await openCheckedProject(ctx);
      const { expList } = await import("../../../engine/exp/list.ts");
      const entries = await expList(project, {
        ...(gitRemote !== undefined ? { gitRemote } : {}),
        allCommits: opts.allCommits ?? false,
        revs: opts.rev ?? [],
        num: opts.num,
        openTransport: await transportOpener(project, ctx),
        signal: ctx.signal,
      });
      const format = opts.json
        ? "json"
        : opts.namesOnly
        ? "name-only"
        : opts.shasOnly
        ? "sha-only"
        : "default";
      ctx.out(renderExpList(entries, format, gitRemote !== undefined));
    })
  );
}
