#!/usr/bin/env bash
# `dxp exp save` on a training server: hashing speed of a 1 GiB output next
# to the md5 limit of this machine (`openssl speed md5`, `md5sum`), the time
# of a second save after a small change (stamp cache), and peak RSS with a
# 100,000-file directory output. The project lives on /dev/shm (tmpfs), so
# the figures are CPU-bound, not disk-bound. Needs ~3 GiB free in /dev/shm.
#   RUNS (default 3) runs per timed figure, median; FILES (default 100000).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
root=$(cd "$here/../.." && pwd)
DXP="$root/dist/dxp"
DENO="$root/node_modules/.bin/deno"
runs=${RUNS:-3}
files=${FILES:-100000}
base=${BENCH_DIR:-/dev/shm}
work=$(mktemp -d "$base/dxp-save-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid

repo="$work/repo"
mkdir -p "$repo/.dvc" && cd "$repo"
git init -q -b main
printf '/config.local\n/tmp\n/cache\n' >.dvc/.gitignore
: >.dvc/config
printf '/model.bin\n/data_out\n' >.gitignore
cat >dvc.yaml <<'EOF'
stages:
  train:
    cmd: python train.py
    deps:
    - train.py
    outs:
    - model.bin
  prep:
    cmd: python prep.py
    deps:
    - prep.py
    outs:
    - data_out
EOF
echo "print('train')" >train.py
echo "print('prep')" >prep.py
git add -A && git commit -qm baseline

echo "# generating model.bin (1 GiB) and data_out ($files files of 1 KiB) in $base"
"$DENO" eval "
const fd = Deno.openSync('model.bin', { write: true, create: true });
const chunk = new Uint8Array(1 << 20);
for (let i = 0; i < 1024; i++) { crypto.getRandomValues(chunk.subarray(0, 65536)); fd.writeSync(chunk); }
fd.close();
const n = $files;
for (let d = 0; d < Math.ceil(n / 1000); d++) {
  Deno.mkdirSync('data_out/d' + d, { recursive: true });
  for (let f = d * 1000; f < Math.min(n, (d + 1) * 1000); f++) {
    Deno.writeTextFileSync('data_out/d' + d + '/f' + f + '.txt', String(f).padEnd(1023, '.') + '\n');
  }
}
"
# Stamps younger than 2 s are not trusted by the stamp cache: age the files.
find model.bin data_out -exec touch -d '1 minute ago' {} +
md5sum model.bin >/dev/null # warm the page cache

openssl_mb=$(openssl speed -seconds 3 -bytes 1048576 md5 2>/dev/null | awk '/^md5/ {printf "%.0f", $2 / 1000}')
md5sum_ms=$(median_ms "$runs" md5sum model.bin)

echo "# first save: hashes and copies both outputs into the cache"
first_rss=$(peak_rss_mb "$DXP" exp save -n first)
row "what" "value"
row "peak RSS, first save, $files-file dir + 1 GiB (MB)" "$first_rss"

# Hashing alone: the objects are in the cache, the stamp cache is dropped.
hash_only() { rm -f .dvc/tmp/dxp/checkout-state.json && "$DXP" exp save -f -n hash train; }
hash_ms=$(median_ms "$runs" hash_only)
row "openssl speed md5, 1 MiB blocks (MB/s)" "$openssl_mb"
row "md5sum model.bin, 1 GiB (MB/s)" "$((1073741824 / 1000 / md5sum_ms))"
row "dxp exp save train, 1 GiB re-hashed (MB/s)" "$((1073741824 / 1000 / hash_ms))"
row "  = % of openssl's md5" "$((1073741824 / 10 / hash_ms / openssl_mb))%"

"$DXP" exp save -f -n again >/dev/null # fills the stamp cache for every file
unchanged() { "$DXP" exp save -f -n unchanged; }
row "save again, nothing changed (ms)" "$(median_ms "$runs" unchanged)"
small_change() {
  echo "$RANDOM" >>data_out/d0/f0.txt
  "$DXP" exp save -f -n small
}
row "save after one file of data_out changed (ms)" "$(median_ms "$runs" small_change)"
rm -f .dvc/tmp/dxp/checkout-state.json
rehash_all() { rm -f .dvc/tmp/dxp/checkout-state.json && "$DXP" exp save -f -n all; }
row "same save without the stamp cache (ms)" "$(median_ms 1 rehash_all)"
"$DXP" exp save -f -n warm >/dev/null
row "peak RSS, save with the stamp cache (MB)" "$(peak_rss_mb "$DXP" exp save -f -n rss)"
