import { chmodSync, mkdirSync } from "node:fs";
import { chmod, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { errnoCode } from "./errors.ts";

/**
 * Returns an `ensureDir(dir)` that creates missing folders. Without `mode`
 * folders get `0777 & ~umask` (plain `mkdir -p`); with a mode (`0o2775` for
 * `cache.shared = group`) each folder it creates is chmod-ed to exactly that,
 * since mkdir masks the mode with the umask and ignores the setgid bit.
 * Writers call it only after an open failed with ENOENT, so the common case
 * (folder already there) costs no extra system call.
 */
export function dirMaker(mode?: number): (dir: string) => Promise<void> {
  const make = async (dir: string): Promise<void> => {
    if (mode === undefined) {
      await mkdir(dir, { recursive: true });
      return;
    }
    try {
      await mkdir(dir, mode);
      await chmod(dir, mode);
    } catch (error) {
      const code = errnoCode(error);
      if (code === "ENOENT" && dirname(dir) !== dir) {
        await make(dirname(dir));
        return make(dir);
      }
      if (code !== "EEXIST") throw error;
    }
  };
  return make;
}

/** {@link dirMaker}, synchronous (for the small-file copies that run without yielding). */
export function dirMakerSync(mode?: number): (dir: string) => void {
  const make = (dir: string): void => {
    if (mode === undefined) {
      mkdirSync(dir, { recursive: true });
      return;
    }
    try {
      mkdirSync(dir, mode);
      chmodSync(dir, mode);
    } catch (error) {
      const code = errnoCode(error);
      if (code === "ENOENT" && dirname(dir) !== dir) {
        make(dirname(dir));
        return make(dir);
      }
      if (code !== "EEXIST") throw error;
    }
  };
  return make;
}
