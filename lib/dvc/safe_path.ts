import { UnsafePathError } from "../errors/mod.ts";

/**
 * Why a relative path from a remote-controlled file (dvc.lock, .dvc, `.dir`
 * manifest) is unsafe, or `undefined` when it is a plain relative POSIX path
 * that cannot leave the folder it is relative to.
 */
export function unsafeReason(path: string): string | undefined {
  if (path.includes("\0")) return "contains a NUL byte";
  if (path.includes("\\")) return "contains a backslash";
  if (path.startsWith("/")) return "is absolute";
  if (/^[A-Za-z]:/.test(path)) return "starts with a drive letter";
  return undefined;
}

/**
 * Normalises `base` + `rel` (both relative, `/`-separated) into one relative
 * path without `.`/`..` segments, refusing anything that climbs above the
 * root or is absolute. `what` names the offending field in the error.
 */
export function joinInside(base: string, rel: string, what: string): string {
  for (const part of [base, rel]) {
    const reason = unsafeReason(part);
    if (reason !== undefined) {
      throw new UnsafePathError(
        `Refusing ${what} '${printable(part)}': it ${reason}; fix the file that declares it.`,
      );
    }
  }
  const out: string[] = [];
  for (const segment of `${base}/${rel}`.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (out.length === 0) {
        throw new UnsafePathError(
          `Refusing ${what} '${
            printable(rel)
          }': it climbs out of the project with '..'; fix the file that declares it.`,
        );
      }
      out.pop();
      continue;
    }
    out.push(segment);
  }
  return out.join("/");
}

/**
 * Checks a manifest `relpath`: strictly canonical (no empty, `.` or `..`
 * segments) and safe; throws {@link UnsafePathError} otherwise.
 */
export function assertCanonicalRelpath(path: string, what: string): void {
  let reason = unsafeReason(path);
  if (reason === undefined) {
    const segments = path.split("/");
    if (segments.some((s) => s === "..")) reason = "climbs out with '..'";
    else if (segments.some((s) => s === "" || s === ".")) reason = "has an empty or '.' segment";
  }
  if (reason !== undefined) {
    throw new UnsafePathError(`Refusing ${what} '${printable(path)}': it ${reason}.`);
  }
}

/** Shows control characters visibly so an error message stays one line. */
function printable(text: string): string {
  let out = "";
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    out += code < 0x20 ? `\\x${code.toString(16).padStart(2, "0")}` : ch;
  }
  return out;
}
