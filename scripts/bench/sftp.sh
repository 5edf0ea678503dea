#!/usr/bin/env bash
# SSH DVC remote figures, side by side in one run over a private loopback sshd
# (real sftp-server): `dxp exp push` / `dxp exp pull` of a generated sample
# against `scp -r` (SFTP mode, OpenSSH >= 9) and `rsync -a` of the same files.
#
#   scripts/bench/sftp.sh            # 1000 x 4 KiB files and one 200 MiB file
#   FILES=200 BIG=$((50<<20)) RUNS=1 scripts/bench/sftp.sh
#
# dxp's figures are whole commands: planning, the existence check, the Git half
# (the experiment ref to/from a local bare origin) and, for pulls, writing the
# cache through temp files. The "local path remote" row is the same push
# without ssh: the difference to the ssh row is what the SFTP store costs.
# Rounds are interleaved so that load from elsewhere hits every command alike.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
root=$(cd "$here/../.." && pwd)
DENO="$root/node_modules/.bin/deno"
DXP="$root/dist/dxp"
FILES=${FILES:-1000}
FILE_SIZE=${FILE_SIZE:-4096}
BIG=${BIG:-209715200}
RUNS=${RUNS:-3}
[ -x "$DXP" ] && [ "${DXP_REBUILD:-1}" = 0 ] || (cd "$root" && "$DENO" task build >/dev/null)
for tool in /usr/sbin/sshd /usr/lib/openssh/sftp-server scp rsync; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/dxp-bench-sftp.XXXXXX")
sshd_pid=""
cleanup() {
  [ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null && wait "$sshd_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# --- private sshd on 127.0.0.1 -------------------------------------------------
mkdir -p /run/sshd "$work/sshd"
ssh-keygen -q -t ed25519 -N "" -f "$work/sshd/host_key"
ssh-keygen -q -t ed25519 -N "" -f "$work/sshd/client_key"
cp "$work/sshd/client_key.pub" "$work/sshd/authorized_keys"
chmod 600 "$work/sshd/authorized_keys"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/sshd/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $work/sshd/host_key
PidFile $work/sshd/sshd.pid
AuthorizedKeysFile $work/sshd/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
UsePAM no
PermitRootLogin yes
Subsystem sftp /usr/lib/openssh/sftp-server
LogLevel ERROR
EOF
/usr/sbin/sshd -D -e -f "$work/sshd/sshd_config" 2>"$work/sshd/log" &
sshd_pid=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.05
done
SSH="ssh -F /dev/null -i $work/sshd/client_key -o UserKnownHostsFile=$work/sshd/known_hosts -o StrictHostKeyChecking=no -o IdentitiesOnly=yes -o BatchMode=yes -o LogLevel=ERROR"
SCP="scp -q -F /dev/null -i $work/sshd/client_key -o UserKnownHostsFile=$work/sshd/known_hosts -o StrictHostKeyChecking=no -o IdentitiesOnly=yes -o BatchMode=yes -o LogLevel=ERROR -P $port"
export DXP_SSH_COMMAND="$SSH"
user=$(id -un)
$SSH -p "$port" 127.0.0.1 true # host key into known_hosts

# --- samples: small files only, big file only ------------------------------------
# (one generator run per set, so each row moves exactly the files it names)
sample() { # NAME FILES FILE_SIZE BIG
  "$DENO" run -A "$root/scripts/generate_sample.ts" "$work/$1" --files "$2" --file-size "$3" \
    --big-file "$4" --experiments 1 >/dev/null
}
sample small "$FILES" "$FILE_SIZE" 0
sample big 0 1 "$BIG"

# Which objects the experiment on HEAD's baseline uploads: push once to a scratch local remote.
exp_of() { git -C "$work/$1/repo" for-each-ref --format='%(refname)' 'refs/exps/' |
  grep "/$(git -C "$work/$1/repo" rev-parse HEAD | cut -c3-40)/" | head -n1; }

row "# median of $RUNS interleaved runs, wall ms; loopback sshd, $(nproc) cores" "small" "big"
row "#   small: $FILES x $FILE_SIZE B + DVC metadata; big: $((BIG >> 20)) MiB + metadata" "" ""

declare -A staged
for set in small big; do
  ref=$(exp_of "$set")
  staged[$set]="$work/stage-$set"
  printf "['remote \"store\"']\n    url = %s\n" "${staged[$set]}" >"$work/$set/repo/.dvc/config.local"
  (cd "$work/$set/repo" && "$DXP" exp push origin "$ref" >/dev/null)
  git -C "$work/$set/origin.git" update-ref -d "$ref"
done
count() { find "$1" -type f | wc -l; }
row "objects per set" "$(count "${staged[small]}")" "$(count "${staged[big]}")"

dxp_push() { # SET
  local set=$1 ref
  ref=$(exp_of "$set")
  rm -rf "$work/remote-$set"
  git -C "$work/$set/origin.git" update-ref -d "$ref" 2>/dev/null || true
  printf "['remote \"store\"']\n    url = ssh://%s@127.0.0.1:%s%s\n" "$user" "$port" "$work/remote-$set" \
    >"$work/$set/repo/.dvc/config.local"
  (cd "$work/$set/repo" && "$DXP" exp push origin "$ref")
}
dxp_push_local() { # SET: the same push to a local-path remote, for reference
  local set=$1 ref
  ref=$(exp_of "$set")
  rm -rf "$work/localremote-$set"
  git -C "$work/$set/origin.git" update-ref -d "$ref" 2>/dev/null || true
  printf "['remote \"store\"']\n    url = %s\n" "$work/localremote-$set" >"$work/$set/repo/.dvc/config.local"
  (cd "$work/$set/repo" && "$DXP" exp push origin "$ref")
}
dxp_pull() { # SET: in a clone made once, with its cache emptied and the ref removed
  local set=$1 ref clone="$work/clone-$1"
  ref=$(exp_of "$set")
  if [ ! -d "$clone" ]; then
    git clone -q "$work/$set/origin.git" "$clone"
    printf "['remote \"store\"']\n    url = ssh://%s@127.0.0.1:%s%s\n" "$user" "$port" \
      "$work/remote-$set" >"$clone/.dvc/config.local"
  fi
  chmod -R u+w "$clone/.dvc/cache" 2>/dev/null || true
  rm -rf "$clone/.dvc/cache"
  git -C "$clone" update-ref -d "$ref" 2>/dev/null || true
  (cd "$clone" && "$DXP" exp pull origin "$ref")
}
scp_up() { rm -rf "$work/scp-$1" && mkdir -p "$work/scp-$1" && $SCP -r "${staged[$1]}/files" "127.0.0.1:$work/scp-$1/"; }
rsync_up() { rm -rf "$work/rsync-$1" && rsync -a -e "$SSH -p $port" "${staged[$1]}/" "127.0.0.1:$work/rsync-$1/"; }
scp_down() { rm -rf "$work/scpd-$1" && mkdir -p "$work/scpd-$1" && $SCP -r "127.0.0.1:${staged[$1]}/files" "$work/scpd-$1/"; }
rsync_down() { rm -rf "$work/rsyncd-$1" && rsync -a -e "$SSH -p $port" "127.0.0.1:${staged[$1]}/" "$work/rsyncd-$1/"; }

# Correctness first: the ssh remote must hold exactly the staged objects, 0444.
for set in small big; do
  dxp_push "$set" >/dev/null 2>&1
  diff <(cd "${staged[$set]}" && find . -type f | sort) <(cd "$work/remote-$set" && find . -type f | sort) >/dev/null ||
    { echo "dxp's ssh remote differs from the local push for $set" >&2; exit 1; }
  [ -z "$(find "$work/remote-$set" -type f ! -perm 444)" ] || { echo "objects not 0444" >&2; exit 1; }
  dxp_pull "$set" >/dev/null 2>&1
  (cd "${staged[$set]}" && find . -type f | sort | while IFS= read -r f; do
    cmp -s "$f" "$work/clone-$set/.dvc/cache/$f" || { echo "pulled $f differs" >&2; exit 1; }
  done)
done

# Interleaved: every round runs each command once, so load from elsewhere hits them alike.
ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(((e - s) / 1000000)); }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
labels=(
  "upload: dxp exp push (ssh:// remote)"
  "upload: dxp exp push (local path remote, reference)"
  "upload: scp -r"
  "upload: rsync -a"
  "download: dxp exp pull (fresh clone, ssh://)"
  "download: scp -r"
  "download: rsync -a"
)
commands=(dxp_push dxp_push_local scp_up rsync_up dxp_pull scp_down rsync_down)
declare -A times
for _ in $(seq "$RUNS"); do
  for set in small big; do
    for i in "${!commands[@]}"; do
      times[$i,$set]+=" $(ms "${commands[$i]}" "$set")"
    done
  done
done
for i in "${!commands[@]}"; do
  # shellcheck disable=SC2086
  row "${labels[$i]}" "$(median ${times[$i,small]})" "$(median ${times[$i,big]})"
done
