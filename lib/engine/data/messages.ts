import type { DvcObject } from "../../dvc/mod.ts";
import type { TransferReport } from "../../transfer/mod.ts";

/** DVC's warning for objects that exist neither locally nor on the remote. */
export function missingWarning(objects: readonly DvcObject[]): string {
  const lines = [...new Set(objects.map((o) => `${o.scheme}: ${o.oid}`))].sort();
  return "WARNING: Some of the cache files do not exist neither locally nor on remote. Missing cache files:\n" +
    lines.join("\n");
}

/** One line per failed object (first few), then DVC's count line. */
export function transferWarnings(
  report: TransferReport,
  direction: "upload" | "download",
  remote: string,
): string[] {
  const failures = report.failed;
  if (failures.length === 0) return [];
  const lines = failures.slice(0, 5).map(({ item, error }) =>
    `WARNING: failed to ${direction} '${item.key}': ${error.message}`
  );
  if (failures.length > 5) lines.push(`WARNING: … and ${failures.length - 5} more`);
  const noun = failures.length === 1 ? "file" : "files";
  lines.push(
    `ERROR: ${failures.length} ${noun} failed to ${direction} (DVC remote '${remote}'); run the command again to retry them`,
  );
  return lines;
}
