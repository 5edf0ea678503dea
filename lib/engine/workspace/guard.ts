import { lstat, mkdir, realpath, stat } from "node:fs/promises";
import { join, sep } from "node:path";
import { DxpError, ExitCode, UnsafePathError } from "../../errors/mod.ts";
import { unsafeReason } from "../../dvc/safe_path.ts";

/**
 * Refuses a project-relative path that must never be written by a checkout:
 * empty (the project itself), absolute, with `..`, NUL, backslash or drive
 * letter, inside `.git` (any level) or — unless `allowDvcDir` (Git files of
 * the project, such as `.dvc/config`) — the project's `.dvc/`. The message
 * is one line naming the path and `what` declared it.
 */
export function assertWorkspacePath(
  path: string,
  what: string,
  options: { allowDvcDir?: boolean } = {},
): void {
  let reason = unsafeReason(path);
  const segments = path.split("/");
  if (reason === undefined) {
    if (path === "") reason = "is the project folder itself";
    else if (segments.some((s) => s === ".." || s === "." || s === "")) {
      reason = "is not a plain relative path";
    } else if (segments.some((s) => s.toLowerCase() === ".git")) reason = "is inside '.git'";
    else if (segments[0] === ".dvc" && !options.allowDvcDir) reason = "is inside '.dvc'";
  }
  if (reason !== undefined) {
    throw new UnsafePathError(
      `Refusing to write ${what} '${printable(path)}': it ${reason}.`,
    );
  }
}

/**
 * Makes folders for workspace writes and makes sure no write goes through a
 * symbolic link that leads out of the workspace. Each folder is checked
 * once (checks are shared between concurrent callers).
 */
export class WorkspaceGuard {
  readonly root: string;
  #realRoot: Promise<string> | undefined;
  #ready = new Map<string, Promise<void>>();

  constructor(root: string) {
    this.root = root;
  }

  /** Absolute path of a project-relative `/`-separated path. */
  abs(path: string): string {
    return path === "" ? this.root : join(this.root, ...path.split("/"));
  }

  /**
   * Makes sure folder `dir` (project-relative) exists as a real folder
   * inside the workspace, creating missing levels. Throws UnsafePathError
   * when an existing level is a symlink resolving outside the workspace,
   * and a plain error when a level is a file.
   */
  ensureDir(dir: string): Promise<void> {
    if (dir === "") return Promise.resolve();
    let pending = this.#ready.get(dir);
    if (pending === undefined) {
      pending = this.#check(dir);
      pending.catch(() => this.#ready.delete(dir));
      this.#ready.set(dir, pending);
    }
    return pending;
  }

  /** Forgets what is known about `dir` and below (after the checkout removed it). */
  forget(dir: string): void {
    for (const key of [...this.#ready.keys()]) {
      if (key === dir || key.startsWith(`${dir}/`)) this.#ready.delete(key);
    }
  }

  async #check(dir: string): Promise<void> {
    const slash = dir.lastIndexOf("/");
    await this.ensureDir(slash < 0 ? "" : dir.slice(0, slash));
    const abs = this.abs(dir);
    let info;
    try {
      info = await lstat(abs);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      try {
        await mkdir(abs);
        return;
      } catch (made) {
        if ((made as NodeJS.ErrnoException).code !== "EEXIST") throw made;
        info = await lstat(abs);
      }
    }
    if (info.isDirectory()) return;
    if (info.isSymbolicLink()) {
      const real = await realpath(abs).catch(() => undefined);
      const root = await this.#rootReal();
      if (real !== undefined && (real === root || real.startsWith(root + sep))) {
        if ((await stat(abs)).isDirectory()) return;
      } else {
        throw new UnsafePathError(
          `Refusing to write below '${
            printable(dir)
          }': it is a symbolic link that leads out of the workspace.`,
        );
      }
    }
    throw new DxpError(
      "NotAFolder",
      `Cannot write below '${printable(dir)}': it is not a folder; move it away and retry.`,
      ExitCode.failure,
    );
  }

  #rootReal(): Promise<string> {
    this.#realRoot ??= realpath(this.root);
    return this.#realRoot;
  }
}

/** Shows control characters visibly so a message stays on one line. */
export function printable(text: string): string {
  let out = "";
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    out += code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, "0")}` : ch;
  }
  return out;
}
