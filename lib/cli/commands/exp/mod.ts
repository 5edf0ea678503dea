import { Command } from "@commander-js/extra-typings";
import type { RunState } from "../../command_kit.ts";
import { expApplyCommand } from "./apply.ts";
import { expBranchCommand } from "./branch.ts";
import { expExportCommand } from "./export.ts";
import { expHaveCommand } from "./have.ts";
import { expImportCommand } from "./import.ts";
import { expListCommand } from "./list.ts";
import { expPullCommand } from "./pull.ts";
import { expPushCommand } from "./push.ts";
import { expRemoveCommand } from "./remove.ts";
import { expSaveCommand } from "./save.ts";
import { expShowCommand } from "./show.ts";

/** `dxp exp …` (alias `experiments`): share experiments. */
export function expCommand(state: RunState) {
  return new Command("exp")
    .alias("experiments")
    .description("Share and inspect DVC experiments.")
    .addCommand(expPushCommand(state))
    .addCommand(expPullCommand(state))
    .addCommand(expListCommand(state))
    .addCommand(expRemoveCommand(state))
    .addCommand(expApplyCommand(state))
    .addCommand(expBranchCommand(state))
    .addCommand(expShowCommand(state))
    .addCommand(expSaveCommand(state))
    .addCommand(expExportCommand(state))
    .addCommand(expImportCommand(state))
    .addCommand(expHaveCommand(state));
}
