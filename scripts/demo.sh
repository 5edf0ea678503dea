#!/usr/bin/env bash
# The main job, end to end on local remotes (no servers): build dist/dxp,
# generate a sample DVC project, push its experiments (data + refs), clone it
# fresh, pull an experiment back, and show the clone's cache now holds
# byte-identical objects.
set -euo pipefail
cd "$(dirname "$0")/.."
DENO=./node_modules/.bin/deno
[ -x dist/dxp ] && [ "${DXP_REBUILD:-1}" = 0 ] || $DENO task build >/dev/null
DXP="$PWD/dist/dxp"
work=$(mktemp -d "${TMPDIR:-/tmp}/dxp-demo.XXXXXX")
echo "== sample project in $work"
$DENO run -A scripts/generate_sample.ts "$work" >/dev/null
cd "$work/repo"
echo "== dxp exp list (local)"
"$DXP" exp list -A
echo "== dxp exp push origin -A"
"$DXP" exp push origin -A
echo "== dxp exp list origin -A"
"$DXP" exp list origin -A
echo "== fresh clone"
git clone -q "$work/origin.git" "$work/clone"
cd "$work/clone"
printf "['remote \"store\"']\n    url = ../../dvcstore\n" > .dvc/config.local
exp=$("$DXP" exp list origin --name-only | head -n 1)
echo "== dxp exp pull origin $exp"
"$DXP" exp pull origin "$exp"
echo "== the clone's cache holds byte-identical objects"
n=0
while IFS= read -r rel; do
  cmp -s "$work/repo/.dvc/cache/$rel" "$work/clone/.dvc/cache/$rel" || { echo "DIFFERS: $rel"; exit 1; }
  n=$((n + 1))
done < <(cd "$work/clone/.dvc/cache" && find . -type f ! -path './runs/*' | sed 's#^\./##')
echo "$n objects in the clone's cache, all identical to the original's"
[ "$n" -gt 0 ] || { echo "nothing was pulled"; exit 1; }
echo "== done: $work"
