#!/usr/bin/env bash
# Secrets canary over the WHOLE end-to-end suite: every dist/dxp the e2e tests
# start runs with -v and with a canary secret in each credential source read
# from the environment that the test did not set itself (AWS keys and session
# token, DXP_GIT_TOKEN, Azure key, client secret and SAS, a Google Drive
# client secret). Everything those processes print is logged, then searched
# for the canary. Test results do not matter here (-v changes the output that
# many tests compare exactly); only leaks do. tests/e2e_secrets_canary_test.ts
# covers the sources that live in config files and URLs, and files written.
#
#   scripts/canary_suite.sh [deno test filter args…]
# Exit 0 when the canary never appeared (but in `remote list`, which shows the
# configured URLs as DVC does); 1 and the offending lines otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CANARY=Q2FuYXJ5U2VjcmV0NzQ1OQ
LOGS=$(mktemp -d /tmp/dxp-canary-logs.XXXXXX)

./node_modules/.bin/deno task build >/dev/null || exit 2
mv dist/dxp dist/dxp.real
restore() { mv -f "$ROOT/dist/dxp.real" "$ROOT/dist/dxp"; }
trap restore EXIT

# exec keeps the pid (signals, process counting); the tees see everything the binary prints.
cat >dist/dxp <<EOF
#!/usr/bin/env bash
: "\${AWS_ACCESS_KEY_ID:=AKIDCANARY}" "\${AWS_SECRET_ACCESS_KEY:=$CANARY}" "\${AWS_SESSION_TOKEN:=$CANARY}"
: "\${DXP_GIT_TOKEN:=$CANARY}" "\${AZURE_STORAGE_ACCOUNT_KEY:=$CANARY}" "\${AZURE_CLIENT_SECRET:=$CANARY}"
: "\${AZURE_STORAGE_SAS_TOKEN:=sv=2020&sig=$CANARY}" "\${GDRIVE_CLIENT_SECRET:=$CANARY}"
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN DXP_GIT_TOKEN \\
  AZURE_STORAGE_ACCOUNT_KEY AZURE_CLIENT_SECRET AZURE_STORAGE_SAS_TOKEN GDRIVE_CLIENT_SECRET
log="$LOGS/\$\$"
printf '%s\n' "\$*" >"\$log.args"
exec "$ROOT/dist/dxp.real" -v "\$@" > >(tee -a "\$log.out") 2> >(tee -a "\$log.err" >&2)
EOF
chmod +x dist/dxp
touch -d '+1 hour' dist/dxp # newer than the sources: the tests keep it

NO_COLOR=1 ./node_modules/.bin/deno test -A --no-check "${@:-tests/}" >"$LOGS/suite.txt" 2>&1
runs=$(ls "$LOGS" | grep -c '\.args$')
hits=""
for f in $(grep -rlF -e "$CANARY" -e "$(printf %s "$CANARY" | base64)" "$LOGS" --include='*.out' --include='*.err'); do
  # `remote list` prints the configured URLs, password included, as DVC does: not a leak.
  grep -q '^remote list' "${f%.*}.args" || hits="$hits $f"
done
echo "dxp processes logged: $runs (logs in $LOGS)"
if [ -n "$hits" ]; then
  echo "canary found in:"
  for f in $hits; do echo "  $(cat "${f%.*}.args"): $(grep -F "$CANARY" "$f" | head -1)"; done
  exit 1
fi
echo "canary in no output"
