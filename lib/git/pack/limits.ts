/**
 * Bounds on what a pack may make dxp allocate. Git objects are held in
 * memory whole (dxp's Git data is metadata: commits, trees, dvc.lock, .dvc
 * files), so a size a server or a bundle declares — for an entry or for a
 * delta's result — is checked against these before any buffer is taken: a
 * few bytes can otherwise ask for terabytes (a size varint) or really expand
 * to gigabytes (a zlib bomb, a delta of repeated copies).
 */

/** Largest single Git object dxp reads (1 GiB). */
export const MAX_OBJECT_BYTES = 1024 * 1024 * 1024;

/** Largest total of the inflated objects of one received pack (2 GiB). */
export const MAX_PACK_INFLATED_BYTES = 2 * 1024 * 1024 * 1024;

/** A byte count as people read it ("1.5 GiB"). */
export function formatBytes(n: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} bytes` : `${Number(value.toFixed(1))} ${units[unit]}`;
}
