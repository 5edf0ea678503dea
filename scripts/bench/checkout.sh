#!/usr/bin/env bash
# `dxp checkout` of 10,000 files and of one 1 GiB file, with cache.type copy
# and hardlink, next to `cp -r` / `cp -al` of the same tree in the same run.
# Needs ~4 GiB of free disk in $TMPDIR. RUNS (default 3) runs per figure, median.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
root=$(cd "$here/../.." && pwd)
DXP="$root/dist/dxp"
DENO="$root/node_modules/.bin/deno"
runs=${RUNS:-3}
files=${FILES:-10000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "# generating a sample project: $files files of 4 KiB + a 1 GiB model.bin"
(cd "$root" && "$DENO" run -A scripts/generate_sample.ts "$work/sample" --files "$files" \
  --file-size 4096 --big-file $((1024 * 1024 * 1024)) --same-big-file --experiments 0 >/dev/null)
repo="$work/sample/repo"
cd "$repo"
copies="$work/copies"

set_type() {
  printf '[cache]\n    type = %s\n' "$1" >.dvc/config.local
}
# One timed step each: start from a workspace without the output.
dxp_dir() { rm -rf data_out && "$DXP" checkout data_out; }
dxp_big() { rm -f model.bin && "$DXP" checkout model.bin; }
dxp_noop() { "$DXP" checkout; }
cp_dir() { rm -rf "$copies" && cp -r data_out "$copies"; }
cp_al_dir() { rm -rf "$copies" && cp -al data_out "$copies"; }
cp_big() { rm -rf "$copies" && cp model.bin "$copies"; }
cp_al_big() { rm -rf "$copies" && cp -al model.bin "$copies"; }

nfiles=$(find data_out -type f | wc -l)
echo "# checkout vs cp, median of $runs runs (ms); data_out has $nfiles files"
row "what" "ms"
set_type copy
"$DXP" checkout -f >/dev/null
row "dxp checkout data_out ($nfiles files), copy" "$(median_ms "$runs" dxp_dir)"
row "cp -r data_out" "$(median_ms "$runs" cp_dir)"
row "dxp checkout model.bin (1 GiB), copy" "$(median_ms "$runs" dxp_big)"
row "cp model.bin" "$(median_ms "$runs" cp_big)"
row "dxp checkout, nothing to do (copy)" "$(median_ms "$runs" dxp_noop)"
set_type hardlink
"$DXP" checkout --relink >/dev/null
row "dxp checkout data_out ($nfiles files), hardlink" "$(median_ms "$runs" dxp_dir)"
row "cp -al data_out" "$(median_ms "$runs" cp_al_dir)"
row "dxp checkout model.bin (1 GiB), hardlink" "$(median_ms "$runs" dxp_big)"
row "cp -al model.bin" "$(median_ms "$runs" cp_al_big)"
row "dxp checkout, nothing to do (hardlink)" "$(median_ms "$runs" dxp_noop)"
set_type copy
rm -rf data_out
row "peak RSS of dxp checkout data_out, copy (MB)" "$(peak_rss_mb "$DXP" checkout data_out)"
