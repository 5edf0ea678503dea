import { Option } from "@commander-js/extra-typings";
import type { ConfigLevel } from "../../../project/dvc_config/mod.ts";

const LEVELS = ["global", "system", "project", "local"] as const;

/**
 * Adds DVC's mutually exclusive `--global | --system | --project | --local`
 * to `cmd` (in place; read them back with {@link levelOf}).
 */
export function addLevelOptions(cmd: { addOption(option: Option): unknown }): void {
  const others = (name: string) => LEVELS.filter((level) => level !== name);
  for (
    const option of [
      new Option("--global", "use global config").conflicts(others("global")),
      new Option("--system", "use system config").conflicts(others("system")),
      new Option("--project", "use project config (.dvc/config)").conflicts(others("project")),
      new Option("--local", "use local config (.dvc/config.local)").conflicts(others("local")),
    ]
  ) cmd.addOption(option);
}

/** The level chosen by the flags (undefined: DVC's default). */
export function levelOf(command: { opts(): Record<string, unknown> }): ConfigLevel | undefined {
  const opts = command.opts();
  if (opts["global"] === true) return "global";
  if (opts["system"] === true) return "system";
  if (opts["project"] === true) return "repo";
  if (opts["local"] === true) return "local";
  return undefined;
}
