/**
 * Reading a Git bundle's header (v2, or v3 with SHA-1): its prerequisite
 * commits, its refs, and where its pack starts.
 */

/** A bundle's header. */
export interface BundleHeader {
  readonly prerequisites: string[];
  readonly refs: { ref: string; oid: string }[];
  /** Offset of the pack's first byte. */
  readonly packOffset: number;
}

const OID = /^[0-9a-f]{40}$/;
/** Longest header accepted: thousands of refs, bounded. */
export const MAX_BUNDLE_HEADER = 16 * 1024 * 1024;

/**
 * Parses the header at the start of `bytes` (which must hold all of it).
 * Throws an Error saying what is wrong: not a bundle, unsupported version
 * or hash, a malformed line, no end of header.
 */
export function parseBundleHeader(bytes: Uint8Array): BundleHeader {
  let end = -1;
  for (let i = 0; i + 1 < bytes.length; i++) {
    if (bytes[i] === 0x0a && bytes[i + 1] === 0x0a) {
      end = i + 1;
      break;
    }
  }
  if (end < 0) throw new Error("its Git bundle has no end of header");
  const lines = new TextDecoder().decode(bytes.subarray(0, end)).split("\n");
  lines.pop();
  const signature = lines.shift();
  if (signature !== "# v2 git bundle" && signature !== "# v3 git bundle") {
    throw new Error("its Git bundle does not start with '# v2 git bundle'");
  }
  const prerequisites: string[] = [];
  const refs: { ref: string; oid: string }[] = [];
  for (const line of lines) {
    if (line.startsWith("@")) {
      if (
        signature === "# v3 git bundle" && (line === "@object-format=sha1" ||
          line.startsWith("@filter="))
      ) {
        if (line.startsWith("@filter=")) throw new Error("its Git bundle is filtered (partial)");
        continue;
      }
      throw new Error(`its Git bundle has an unsupported capability '${line}'`);
    }
    if (line.startsWith("-")) {
      const oid = line.slice(1, 41);
      if (!OID.test(oid) || (line.length > 41 && line[41] !== " ")) {
        throw new Error("its Git bundle has a malformed prerequisite line");
      }
      prerequisites.push(oid);
      continue;
    }
    const oid = line.slice(0, 40);
    const ref = line.slice(41);
    if (!OID.test(oid) || line[40] !== " " || ref === "") {
      throw new Error("its Git bundle has a malformed ref line");
    }
    refs.push({ ref, oid });
  }
  return { prerequisites, refs, packOffset: end + 1 };
}
