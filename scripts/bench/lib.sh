# Helpers shared by the benchmark scripts (sourced, not run).

# median_ms RUNS CMD... : runs CMD RUNS times, prints the median wall time in ms.
median_ms() {
  local runs=$1
  shift
  local times=()
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    times+=($(((end - start) / 1000000)))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

# peak_rss_mb CMD... : runs CMD once under GNU time, prints its peak RSS in MB.
peak_rss_mb() {
  /usr/bin/time -f '%M' -o /tmp/dxp-bench-rss "$@" >/dev/null 2>&1
  awk '{printf "%.0f\n", $1 / 1024}' /tmp/dxp-bench-rss
}

# row LABEL VALUE... : one aligned result line.
row() {
  printf '%-52s' "$1"
  shift
  printf ' %12s' "$@"
  printf '\n'
}
