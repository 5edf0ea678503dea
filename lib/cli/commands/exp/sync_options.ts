import { Command, Option } from "@commander-js/extra-typings";
import { collect, parseIntOption, withCommonOptions } from "../../command_kit.ts";

/** The flags `exp push` and `exp pull` share (DVC's, plus --json and --dry-run). */
export function syncCommand(name: "push" | "pull", description: string) {
  const verb = name === "push" ? "push" : "pull";
  return withCommonOptions(
    new Command(name)
      .description(description)
      .argument("<git_remote>", "Git remote name or Git URL")
      .argument("[experiment...]", "experiments to " + verb + ": names or full refs/exps/… refs"),
  )
    .option(
      "-A, --all-commits",
      `${verb} all experiments${name === "pull" ? " of the remote" : ""}`,
    )
    .option(
      "--rev <commit>",
      `${verb} experiments derived from this baseline (repeatable, default HEAD)`,
      collect,
    )
    .option(
      "-n, --num <num>",
      "also take this many first-parent ancestors of each --rev (negative: all)",
      parseIntOption,
      1,
    )
    .option(
      "-f, --force",
      name === "push"
        ? "replace diverged remote experiments"
        : "replace diverged local experiments",
    )
    .option(
      "--no-cache",
      `do not ${verb} the experiments' data ${name === "push" ? "to" : "from"} DVC remote storage`,
    )
    .option("-r, --remote <name>", "DVC remote to use instead of the default")
    .option(
      "-j, --jobs <number>",
      "parallel transfers (default: the remote's jobs, else 4 × CPU count)",
      parseIntOption,
    )
    .option(
      "--allow-missing",
      name === "push"
        ? "push refs even when some of their data is missing from the DVC remote"
        : "exit 0 even when some of the experiments' data is missing from the DVC remote",
    )
    .addOption(new Option("--run-cache", "also transfer the run cache"))
    .addOption(new Option("--no-run-cache", "do not transfer the run cache (default)"))
    .option("--json", "print the result as JSON")
    .option("--dry-run", "say what would move, move nothing")
    .option("--no-progress", "no progress output");
}
