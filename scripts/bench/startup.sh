#!/usr/bin/env bash
# Start-up and `exp list` figures, side by side with git in the same run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
root=$(cd "$here/../.." && pwd)
DXP="$root/dist/dxp"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf "$root/tests/fixtures/basic.tar.gz" -C "$work"
cd "$work/basic/repo"
runs=${RUNS:-21}
echo "# start-up and listing, median of $runs runs (ms)"
row "dxp --version" "$(median_ms "$runs" "$DXP" --version)"
row "git --version" "$(median_ms "$runs" git --version)"
row "dxp exp list -A (basic fixture)" "$(median_ms "$runs" "$DXP" exp list -A)"
row "git for-each-ref refs/exps" "$(median_ms "$runs" git for-each-ref refs/exps)"
row "dxp exp list -A origin (local path)" "$(median_ms "$runs" "$DXP" exp list -A origin)"
row "git ls-remote origin 'refs/exps/*'" "$(median_ms "$runs" git ls-remote origin 'refs/exps/*')"
