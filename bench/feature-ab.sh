#!/usr/bin/env bash
# The cost of each ambassador feature as CPU µs per request, A/B interleaved (not part of
# `npm run bench`): one plain outrigger and one with the feature run side by side on the same
# nginx backends, and short wrk runs alternate between them (plain, feature, plain, ...), PAIRS
# times per feature. CPU time comes from /proc/PID/stat over each run, so the figure barely moves
# with the machine's load; the table gives each feature's µs/req beside the plain one measured in
# the same pairs, and the ratio's range. Run after `npm run build`:
#
#   BENCH_STATE=/tmp/bench-ab PORT_BASE=29600 BACKEND_PORT=29501 (and +1) PAIRS=3 SECONDS_EACH=3 bash bench/feature-ab.sh
#   FEATURES="sticky mirror" bash bench/feature-ab.sh    # only these rows
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=${BENCH_STATE:-/tmp/outrigger-feature-ab}
BASE=${PORT_BASE:-19200}
BPORT=${BACKEND_PORT:-19201}
PAIRS=${PAIRS:-3}
SECONDS_EACH=${SECONDS_EACH:-3}
WARMUP=${WARMUP:-3}
CONNS=${CONNS:-64}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
HZ=$(getconf CLK_TCK)
mkdir -p "$STATE/www" "$STATE/tmp"
head -c 100 /dev/zero | tr '\0' x > "$STATE/www/small"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

cat > "$STATE/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $STATE/nginx.pid;
error_log $STATE/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_timeout 120s; keepalive_requests 100000000;
  client_body_temp_path $STATE/tmp;
  server {
    listen 127.0.0.1:$BPORT;
    listen 127.0.0.1:$((BPORT + 1));
    root $STATE/www;
    location = /health { return 200 "OK\n"; }
    location / { }
  }
}
EOF
taskset -c "$LOAD_CPU" nginx -e "$STATE/error.log" -p "$STATE" -c "$STATE/nginx.conf" & PIDS+=($!)

start() { # port, flags...: starts outrigger pinned to the proxy core, prints its PID
  local port=$1; shift
  taskset -c "$PROXY_CPU" node dist/src/main.js -q --address "127.0.0.1:$port" --health-path /health "$@" >"$STATE/o-$port.log" 2>&1 &
  echo $!
}
ready() { for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$1/small" && return 0; sleep 0.1; done; echo "port $1 not ready" >&2; exit 1; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# One wrk run against port $1 (PID $2) for $3 s (SECONDS_EACH): prints "requests cpu_ticks".
run() {
  local before after out secs=${3:-$SECONDS_EACH}
  before=$(cpu "$2")
  out=$(timeout $((secs + 10)) taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${secs}s" "http://127.0.0.1:$1/small")
  after=$(cpu "$2")
  echo "$(awk '/requests in/ {print $1}' <<<"$out") $((after - before))"
}

SITE="http://127.0.0.1:$BPORT"
declare -A FLAGS=(
  [hash]="--host-balance hash --hash-key path"
  [hash-bounded]="--host-balance hash --hash-key path --hash-balance-factor 1.25"
  [sticky]="--sticky-cookie lb"
  [split]="--split 95/5"
  [ratelimit]="--rate-limit 10000000/s,burst=10000000"
  [outlier]="--outlier-5xx 5 --outlier-success-rate 1.9"
  [mirror]="--mirror $SITE"
)
printf '%-14s %-28s %-28s %s\n' feature 'plain µs/req (each pair)' 'feature µs/req (each pair)' 'feature/plain: median (min-max)'
for name in ${FEATURES:-hash hash-bounded sticky split ratelimit outlier mirror}; do
  sites=("$SITE")
  [ "$name" = split ] && sites=("$SITE" "http://127.0.0.1:$((BPORT + 1))")
  # Both fresh for each feature, and both warmed up alike (the JIT), so neither has a head start.
  plain=$(start "$BASE" "${sites[@]}")
  # shellcheck disable=SC2086
  feat=$(start "$((BASE + 1))" ${FLAGS[$name]} "${sites[@]}")
  PIDS+=("$plain" "$feat")
  ready "$BASE"; ready "$((BASE + 1))"
  run "$BASE" "$plain" "$WARMUP" >/dev/null
  run "$((BASE + 1))" "$feat" "$WARMUP" >/dev/null
  port=$((BASE + 1))
  a=(); b=(); ratios=()
  for _ in $(seq "$PAIRS"); do
    read -r rq rt < <(run "$BASE" "$plain")
    read -r fq ft < <(run "$port" "$feat")
    a+=("$(awk -v t="$rt" -v q="$rq" -v hz="$HZ" 'BEGIN {printf "%.1f", t / hz * 1e6 / q}')")
    b+=("$(awk -v t="$ft" -v q="$fq" -v hz="$HZ" 'BEGIN {printf "%.1f", t / hz * 1e6 / q}')")
    ratios+=("$(awk -v x="${a[-1]}" -v y="${b[-1]}" 'BEGIN {printf "%.3f", y / x}')")
  done
  kill "$plain" "$feat"
  for _ in $(seq 50); do kill -0 "$plain" 2>/dev/null || kill -0 "$feat" 2>/dev/null || break; sleep 0.1; done
  sorted=$(printf '%s\n' "${ratios[@]}" | sort -n | tr '\n' ' ')
  read -r -a s <<<"$sorted"
  printf '%-14s %-28s %-28s %s (%s-%s)\n' "$name" "${a[*]}" "${b[*]}" "${s[$(( ${#s[@]} / 2 ))]}" "${s[0]}" "${s[-1]}"
done
