import { chmod, mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { type ConfigData, emptyConfigData, mergeConfigData } from "./config_data.ts";
import { configError } from "./errors.ts";
import type { ConfigFiles, ConfigLevel } from "./levels.ts";
import { loadLevelsBefore, parseConfigText, readConfigText } from "./load.ts";
import { validateConfigData } from "./schema.ts";

/** What an edit sees: the level's text and DVC's view of it and of the levels below. */
export interface LevelEditInput {
  /** The level's file. */
  readonly file: string;
  /** Its current text ("" when the file does not exist yet). */
  readonly text: string;
  /** DVC's view of this level alone. */
  readonly data: ConfigData;
  /** The levels before this one, merged (DVC's `load_config_to_level`). */
  readonly below: ConfigData;
}

/**
 * DVC's `Config.edit(level)`: reads one level, lets `edit` return its new
 * text, checks the result merged with the levels below it against the
 * schema, then writes the file (only when it changed; atomically; keeping
 * the file's permissions). A repo level outside a project fails as DVC
 * does: `config file error: Not inside a DVC repo`.
 */
export async function editConfigLevel(
  files: ConfigFiles,
  level: ConfigLevel,
  edit: (input: LevelEditInput) => string,
): Promise<{ file: string; changed: boolean }> {
  const file = files[level];
  if (file === undefined) throw configError("Not inside a DVC repo");
  const text = (await readConfigText(file)) ?? "";
  const data = parseConfigText(text, file);
  const below = await loadLevelsBefore(files, level);
  const next = edit({ file, text, data, below });
  const merged = mergeConfigData(
    mergeConfigData(emptyConfigData(), below),
    parseConfigText(next, file),
  );
  validateConfigData(merged);
  if (next === text) return { file, changed: false };
  await writeAtomically(file, next);
  return { file, changed: true };
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.${basename(file)}.${crypto.randomUUID()}.tmp`);
  try {
    await writeFile(temp, text, { encoding: "utf8", flag: "wx" });
    const mode = await stat(file).then((s) => s.mode & 0o7777, () => undefined);
    if (mode !== undefined) await chmod(temp, mode);
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw configError(
      `cannot write '${file}' (${(error as { code?: string }).code ?? error})`,
      { cause: error, file },
    );
  }
}
