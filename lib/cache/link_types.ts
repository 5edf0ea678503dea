import { ConfigError } from "../errors/mod.ts";

/** How a cache object becomes a workspace file (`cache.type`, spec §4.7). */
export type LinkType = "reflink" | "hardlink" | "symlink" | "copy";

/** DVC's default `cache.type`. */
export const DEFAULT_LINK_TYPES: readonly LinkType[] = ["reflink", "copy"];

/**
 * Errors meaning the file system cannot make this link type at all: the type
 * is not tried again (DVC drops it too).
 */
export const LINK_UNSUPPORTED: ReadonlySet<string> = new Set([
  "ENOTSUP",
  "EOPNOTSUPP",
  "EXDEV",
  "EINVAL",
  "ENOSYS",
  "ENOTTY",
  "EPERM",
  "EACCES",
]);

/** Errors meaning only this file cannot be linked (too many links to one inode): try the next type. */
export const LINK_THIS_FILE_ONLY: ReadonlySet<string> = new Set(["EMLINK"]);

const KNOWN: readonly LinkType[] = ["reflink", "hardlink", "symlink", "copy"];

/**
 * Reads `cache.type` (already split on commas) into link types, in the
 * user's order; `undefined` or an empty list gives DVC's default
 * `reflink,copy`. Unknown names are a ConfigError, as in DVC's schema.
 *
 * @example parseLinkTypes(["hardlink", "copy"]) // ["hardlink", "copy"]
 */
export function parseLinkTypes(value: readonly string[] | undefined): LinkType[] {
  const names = (value ?? []).map((v) => v.trim().toLowerCase()).filter((v) => v !== "");
  if (names.length === 0) return [...DEFAULT_LINK_TYPES];
  const out: LinkType[] = [];
  for (const name of names) {
    const type = KNOWN.find((k) => k === name);
    if (type === undefined) {
      throw new ConfigError(
        `config file error: unsupported cache type '${name}'; use one or more of reflink, hardlink, symlink, copy.`,
      );
    }
    if (!out.includes(type)) out.push(type);
  }
  return out;
}
