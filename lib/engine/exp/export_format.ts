/**
 * The export file format (one tar stream), shared by `exp export` and
 * `exp import`:
 *
 *   dxp/README.txt               what this file is, for someone without dxp
 *   dxp/experiments.bundle       a standard Git bundle (refs/exps/…)
 *   files/md5/ab/cdef…           DVC 3.x objects, laid out as a DVC local remote
 *   ab/cdef…                     DVC 2.x (legacy) objects, same
 *   dxp/manifest.json            format, versions, experiments, every member's size and sha256
 *   dxp/manifest.json.sha256     `sha256sum` line of the manifest, the last member
 *
 * Objects come after the bundle, files before `.dir` manifests; the
 * manifest and its checksum come last, so a truncated file lacks them.
 */
import { createHash } from "node:crypto";
import { parseExpRef } from "../../core/exp_ref.ts";
import { parseObjectKey } from "../../core/object_key.ts";

export const FORMAT = "dxp-export";
export const FORMAT_VERSION = 1;
export const README_PATH = "dxp/README.txt";
export const BUNDLE_PATH = "dxp/experiments.bundle";
export const MANIFEST_PATH = "dxp/manifest.json";
export const MANIFEST_SUM_PATH = "dxp/manifest.json.sha256";

/** Progress of an export or import, for the CLI's display. */
export interface ArchiveProgress {
  readonly phase: "exporting" | "importing";
  readonly doneObjects: number;
  readonly totalObjects: number;
  readonly doneBytes: number;
  readonly totalBytes: number;
}

/** One experiment carried by the file. */
export interface ExportedExp {
  readonly ref: string;
  readonly name: string;
  readonly baseline: string;
  readonly sha: string;
}

/** One tar member as recorded in the manifest. */
export interface ManifestMember {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

/** `dxp/manifest.json`. */
export interface Manifest {
  readonly format: typeof FORMAT;
  readonly format_version: number;
  readonly dxp_version: string;
  readonly experiments: readonly ExportedExp[];
  /** Commits the bundle builds on: the receiver must have them. */
  readonly prerequisites: readonly string[];
  /** False for `--no-cache` exports (refs and commits only). */
  readonly dvc_objects: boolean;
  /** Bytes per volume with `--split`, else null. */
  readonly volume_size: number | null;
  /** Every member before the manifest, in order. */
  readonly members: readonly ManifestMember[];
}

export const README_TEXT =
  `This file was written by 'dxp exp export': DVC experiments and their data.

It is a tar archive:
  dxp/experiments.bundle     a Git bundle holding the experiments' refs (refs/exps/...)
                             and commits: 'git bundle verify', 'git fetch <file> "refs/exps/*:refs/exps/*"'
  files/md5/..., ab/...      the experiments' DVC objects, laid out as a DVC local remote:
                             untar into a folder and 'dvc pull -r <that folder>'
  dxp/manifest.json          format version, experiments, every member with its size and sha256
  dxp/manifest.json.sha256   the manifest's sha256 ('sha256sum -c' in dxp/), the last member

With dxp: 'dxp exp import <file>' in a clone of the same project checks everything, then
adds the objects to the DVC cache and the experiments to refs/exps/.
`;

/**
 * The manifest's bytes — stable key order, one experiment and one member
 * per line, so it diffs and greps well — and its `sha256sum` line.
 */
export function encodeManifest(manifest: Manifest): { json: Uint8Array; sum: Uint8Array } {
  const { experiments, members, ...head } = manifest;
  const list = (items: readonly object[]) =>
    items.length === 0 ? "[]" : `[\n  ${items.map((i) => JSON.stringify(i)).join(",\n  ")}\n ]`;
  const fields = Object.entries(head).map(([k, v]) =>
    ` ${JSON.stringify(k)}: ${JSON.stringify(v)}`
  );
  fields.push(` "experiments": ${list(experiments)}`, ` "members": ${list(members)}`);
  const json = new TextEncoder().encode(`{\n${fields.join(",\n")}\n}\n`);
  const digest = createHash("sha256").update(json).digest("hex");
  return { json, sum: new TextEncoder().encode(`${digest}  manifest.json\n`) };
}

/** What a member's path names: a fixed file, or a DVC object in one of the two layouts. */
export type MemberKind =
  | { kind: "readme" | "bundle" | "manifest" | "manifest-sum" }
  | { kind: "object"; key: string };

/**
 * Classifies a member path; undefined for anything an export never holds.
 * Only exact, normalised names pass: nothing with `..`, a leading `/`, a
 * NUL, `./` or doubled slashes can.
 */
export function memberKind(path: string): MemberKind | undefined {
  switch (path) {
    case README_PATH:
      return { kind: "readme" };
    case BUNDLE_PATH:
      return { kind: "bundle" };
    case MANIFEST_PATH:
      return { kind: "manifest" };
    case MANIFEST_SUM_PATH:
      return { kind: "manifest-sum" };
  }
  return parseObjectKey(path) === undefined ? undefined : { kind: "object", key: path };
}

/** Why a member path is refused, for the error message. */
export function unsafeReason(path: string): string | undefined {
  if (path.includes("\0")) return "has a NUL byte in its name";
  if (path.startsWith("/")) return "has an absolute name";
  if (path.split("/").includes("..")) return "escapes the import folders ('..')";
  return undefined;
}

const SHA256 = /^[0-9a-f]{64}$/;
const SHA1 = /^[0-9a-f]{40}$/;

/** Parses and checks a manifest's JSON; throws an Error saying what is wrong. */
export function parseManifest(bytes: Uint8Array): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new Error("its manifest is not valid JSON");
  }
  const m = raw as Record<string, unknown>;
  if (m === null || typeof m !== "object" || m["format"] !== FORMAT) {
    throw new Error("its manifest is not a dxp export manifest");
  }
  if (m["format_version"] !== FORMAT_VERSION) {
    throw new Error(
      `it has format version ${
        JSON.stringify(m["format_version"])
      }, this dxp reads version ${FORMAT_VERSION}; use a newer dxp`,
    );
  }
  const bad = (what: string) => new Error(`its manifest has ${what}`);
  if (!Array.isArray(m["experiments"]) || !Array.isArray(m["members"])) {
    throw bad("no experiments or members list");
  }
  if (!Array.isArray(m["prerequisites"]) || !m["prerequisites"].every((p) => SHA1.test(p))) {
    throw bad("a malformed prerequisites list");
  }
  const experiments = (m["experiments"] as unknown[]).map((e) => {
    const x = e as Record<string, unknown>;
    if (typeof x["ref"] !== "string" || typeof x["sha"] !== "string" || !SHA1.test(x["sha"])) {
      throw bad("a malformed experiment");
    }
    const parsed = parseExpRef(x["ref"]);
    if (!SHA1.test(parsed.baseline) || parsed.name === "") throw bad("a malformed experiment ref");
    return { ref: parsed.ref, name: parsed.name, baseline: parsed.baseline, sha: x["sha"] };
  });
  const members = (m["members"] as unknown[]).map((e) => {
    const x = e as Record<string, unknown>;
    if (
      typeof x["path"] !== "string" || !Number.isSafeInteger(x["size"]) ||
      typeof x["sha256"] !== "string" || !SHA256.test(x["sha256"])
    ) throw bad("a malformed member");
    return { path: x["path"], size: x["size"] as number, sha256: x["sha256"] };
  });
  const volume = m["volume_size"];
  if (typeof m["dvc_objects"] !== "boolean") throw bad("no dvc_objects flag");
  return {
    format: FORMAT,
    format_version: FORMAT_VERSION,
    dxp_version: String(m["dxp_version"] ?? ""),
    experiments,
    prerequisites: m["prerequisites"] as string[],
    dvc_objects: m["dvc_objects"],
    volume_size: typeof volume === "number" && volume > 0 ? volume : null,
    members,
  };
}
