import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "./tmp.ts";
import { isRoot } from "./unprivileged.ts";

let canMount: boolean | undefined;

/**
 * Whether this process may mount a tmpfs (root, outside a container that
 * forbids it): tests then fill a tiny one up to make writes fail with
 * ENOSPC, the way a full disk breaks a transfer. Probed once.
 */
export function canMountTmpfs(): boolean {
  if (canMount !== undefined) return canMount;
  if (!isRoot()) return (canMount = false);
  const probe = mkdtempSync(join(tmpdir(), "dxp-mount-probe-"));
  canMount = run("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe]).code === 0;
  if (canMount) run("umount", [probe]);
  rmSync(probe, { recursive: true, force: true });
  return canMount;
}
