#!/usr/bin/env bash
# Every benchmark in sequence (the `deno task bench` entry). Builds dist/dxp
# once; each script then prints its own aligned table. Needs ~6 GiB of free
# disk in $TMPDIR, sshd, and for the S3 rows radosgw, rclone and awscli.
#   RUNS=…  overrides each script's number of runs; ONLY="startup list_ssh" picks scripts.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
DENO="$root/node_modules/.bin/deno"
(cd "$root" && "$DENO" task build >/dev/null)
export DXP_REBUILD=0
all="startup list_ssh git_refs data exp_show checkout sftp exp_save export cloud_azure"
for name in ${ONLY:-$all}; do
  echo
  echo "## $name ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"
  if [ -f "$here/$name.ts" ]; then
    (cd "$root" && "$DENO" run -A "scripts/bench/$name.ts")
  else
    bash "$here/$name.sh"
  fi
done
