import { Command } from "@commander-js/extra-typings";
import { collect, parseIntOption, withCommonOptions } from "../command_kit.ts";

/** Flags shared by `dxp push`, `dxp fetch` and `dxp pull` (DVC's). */
export function dataCommand(name: string, description: string) {
  return withCommonOptions(
    new Command(name)
      .description(description)
      .argument("[targets...]", "outputs, folders or stage files to limit the transfer to"),
  )
    .option("-r, --remote <name>", "DVC remote to use instead of the default")
    .option(
      "-j, --jobs <number>",
      "parallel transfers (default: the remote's jobs, else 4 × CPU count)",
      parseIntOption,
    )
    .option("-a, --all-branches", "also every local branch's outputs")
    .option("-T, --all-tags", "also every tag's outputs")
    .option("--rev <commit>", "also this commit's outputs (repeatable)", collect)
    .option("--no-progress", "no progress output");
}

/** Maps parsed flags to the engine's revision and data options. */
export function dataFlags(
  targets: string[],
  opts: { remote?: string; jobs?: number; allBranches?: true; allTags?: true; rev?: string[] },
) {
  return {
    targets,
    revs: opts.rev ?? [],
    allBranches: opts.allBranches ?? false,
    allTags: opts.allTags ?? false,
    ...(opts.remote !== undefined ? { remoteName: opts.remote.toLowerCase() } : {}),
    ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}),
  };
}
