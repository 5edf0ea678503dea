import { CorruptError } from "../errors/mod.ts";
import { hashBytes } from "../util/object_hasher.ts";
import { assertCanonicalRelpath } from "./safe_path.ts";

/** One file of a directory output: its oid and its path inside the directory. */
export interface DirManifestEntry {
  md5: string;
  relpath: string;
}

/**
 * The bytes of a `.dir` object exactly as DVC writes them (spec §4.3): Python
 * `json.dumps(entries, sort_keys=True)`, entries sorted by `relpath` in code
 * point order, non-ASCII escaped as `\uXXXX`, no trailing newline.
 *
 * @example
 * serializeDirManifest([{ md5: "60b725f10c9c85c70d97880dfe8191b3", relpath: "a.txt" }]);
 * // bytes of '[{"md5": "60b725f10c9c85c70d97880dfe8191b3", "relpath": "a.txt"}]'
 */
export function serializeDirManifest(entries: readonly DirManifestEntry[]): Uint8Array {
  const sorted = [...entries].sort((a, b) => compareCodePoints(a.relpath, b.relpath));
  // Written byte by byte into one buffer of the exact size: strings per entry
  // (or one big string) would be garbage worth several times the manifest
  // for 100,000 files. Everything is ASCII after escaping.
  const paths = sorted.map((e) =>
    NEEDS_ESCAPE.test(e.relpath) ? pyJsonString(e.relpath) : undefined
  );
  const ENTRY = '{"md5": "'.length + '", "relpath": '.length + "}".length;
  let total = 2 + Math.max(0, sorted.length - 1) * 2;
  sorted.forEach((e, i) => {
    total += ENTRY + e.md5.length + (paths[i]?.length ?? e.relpath.length + 2);
  });
  const out = new Uint8Array(total);
  let at = 0;
  const put = (text: string) => {
    for (let i = 0; i < text.length; i++) out[at++] = text.charCodeAt(i);
  };
  put("[");
  sorted.forEach((e, i) => {
    if (i > 0) put(", ");
    put('{"md5": "');
    put(e.md5);
    put('", "relpath": ');
    const escaped = paths[i];
    if (escaped !== undefined) put(escaped);
    else {
      put('"');
      put(e.relpath);
      put('"');
    }
    put("}");
  });
  put("]");
  return out;
}

/**
 * Parses and validates a `.dir` object. Throws {@link CorruptError} when it is
 * not a manifest and UnsafePathError when a `relpath` could escape the output
 * directory (absolute, `..`, NUL, backslash, drive letter).
 */
export function parseDirManifest(bytes: Uint8Array): DirManifestEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new CorruptError(
      "A '.dir' manifest is not valid UTF-8 JSON; delete the object and fetch it again.",
      {
        cause,
      },
    );
  }
  if (!Array.isArray(data)) {
    throw new CorruptError(
      "A '.dir' manifest is not a JSON array; delete the object and fetch it again.",
    );
  }
  const seen = new Set<string>();
  return data.map((item: unknown) => {
    const md5 = (item as { md5?: unknown } | null)?.md5;
    const relpath = (item as { relpath?: unknown } | null)?.relpath;
    if (typeof md5 !== "string" || !/^[0-9a-fA-F]{32}$/.test(md5) || typeof relpath !== "string") {
      throw new CorruptError(
        "A '.dir' manifest entry lacks a 32-hex 'md5' or a string 'relpath'; delete the object and fetch it again.",
      );
    }
    assertCanonicalRelpath(relpath, "'.dir' manifest entry");
    if (seen.has(relpath)) {
      throw new CorruptError(
        `A '.dir' manifest lists '${relpath}' twice; delete the object and fetch it again.`,
      );
    }
    seen.add(relpath);
    return { md5: md5.toLowerCase(), relpath };
  });
}

/** The oid of a `.dir` object: md5 of its bytes plus `.dir`. */
export function dirOid(bytes: Uint8Array): string {
  return `${hashBytes(bytes, "md5")}.dir`;
}

/** Orders strings by Unicode code point, as Python compares `str` (not by UTF-16 unit). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (astral code points) sort above every BMP unit; among
    // themselves UTF-16 order equals code point order.
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    if (sx !== sy) return sx ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

const NEEDS_ESCAPE = /[^\x20-\x7e]|["\\]/;

/** Python's `json.encoder.encode_basestring_ascii` (ensure_ascii=True). */
export function pyJsonString(text: string): string {
  // One replace over the whole string: building it char by char makes a
  // rope node per character (hundreds of MB for a 100,000-file manifest).
  return `"${
    text.replace(/[^\x20-\x7e]|["\\]/g, (ch) => {
      const short = SHORT_ESCAPES[ch];
      // UTF-16 units are exactly Python's surrogate-pair escapes for astral chars.
      return short ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;
    })
  }"`;
}
