import type { DvcObject } from "../../dvc/mod.ts";
import { type ConfigError, CorruptError } from "../../errors/mod.ts";
import { configError, type DvcConfig } from "../../project/dvc_config/mod.ts";
import type { Project } from "../../project/project.ts";

/** DVC's warning for objects that exist neither locally nor on the remote. */
export function missingWarning(objects: readonly DvcObject[]): string {
  const lines = [...new Set(objects.map((o) => `${o.scheme}: ${o.oid}`))].sort();
  return "WARNING: Some of the cache files do not exist neither locally nor on remote. Missing cache files:\n" +
    lines.join("\n");
}

/**
 * DVC's `NoRemoteError` (spec §5.3): an output needs the default remote and
 * there is none. `command` is what the hint tells the user to rerun with `-r`.
 */
export function noRemoteError(
  project: Project,
  config: DvcConfig,
  command = "push",
): ConfigError {
  const where = `no remote specified in Repo: '${project.root}'.`;
  return configError(
    config.remoteNames().length > 0
      ? `${where} Setup default remote with\n    dvc remote default <remote name>\nor use:\n    dvc ${command} -r <remote name>`
      : `${where} Create a default remote with\n    dvc remote add -d <remote name> <remote url>`,
  );
}

/**
 * One line per failed object (first few), then the count. The rerun hint is
 * given only when a rerun can help: bytes that do not match their hash
 * (a corrupt object on the other side) fail again the same way.
 */
export function transferWarnings(
  failures: { readonly sample: readonly { key: string; error: Error }[]; readonly total: number },
  direction: "upload" | "download",
  remote: string,
): string[] {
  const total = failures.total;
  if (total === 0) return [];
  const lines = failures.sample.slice(0, 5).map(({ key, error }) =>
    `WARNING: failed to ${direction} '${key}': ${error.message}`
  );
  if (total > 5) lines.push(`WARNING: … and ${total - 5} more`);
  const noun = total === 1 ? "file" : "files";
  const retryable = failures.sample.some(({ error }) => !(error instanceof CorruptError));
  lines.push(
    `ERROR: ${total} ${noun} failed to ${direction} (DVC remote '${remote}')` +
      (retryable ? "; run the command again to retry them" : ""),
  );
  return lines;
}
