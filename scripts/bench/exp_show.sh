#!/usr/bin/env bash
# `dxp exp show` on the basic fixture, side by side with `git log --all --oneline`
# in the same run (both read every commit of the repository).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
DXP="$root/dist/dxp"
if [ -f "$here/lib.sh" ]; then
  source "$here/lib.sh"
else
  median_ms() {
    local runs=$1 times=() start end
    shift
    for _ in $(seq "$runs"); do
      start=$(date +%s%N)
      "$@" >/dev/null 2>&1
      end=$(date +%s%N)
      times+=($(((end - start) / 1000000)))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
  }
  row() { printf '%-52s' "$1"; shift; printf ' %12s' "$@"; printf '\n'; }
fi
[ -x "$DXP" ] || { echo "build dist/dxp first: ./node_modules/.bin/deno task build" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf "$root/tests/fixtures/basic.tar.gz" -C "$work"
cd "$work/basic/repo"
runs=${RUNS:-21}
echo "# exp show on the basic fixture (2 baselines, 4 experiments), median of $runs runs (ms)"
row "git log --all --oneline" "$(median_ms "$runs" git log --all --oneline)"
row "dxp exp show -A" "$(median_ms "$runs" "$DXP" exp show -A)"
row "dxp exp show -A --json" "$(median_ms "$runs" "$DXP" exp show -A --json)"
row "dxp exp show (HEAD only)" "$(median_ms "$runs" "$DXP" exp show)"
row "dxp --version (start-up)" "$(median_ms "$runs" "$DXP" --version)"
