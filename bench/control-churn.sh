#!/usr/bin/env bash
# The --workers control plane under churn (issue 8), a small bounded run (not part of `npm run bench`):
#   1. --workers 2, a sites file rewritten every 100 ms for $SECONDS_CHURN s (backend 1, both, backend 2 in turn;
#      the file watch settles 150 ms after an event, so at most ~6 changes/s are applied):
#      control messages/s and bytes/s (outrigger_control_* on the main port), CPU of the primary,
#      and wrk throughput/latency during the churn against the same without churn;
#   2. --workers 1 and --workers 2 without churn, wrk for $SECONDS_WRK s each.
# Backends: one nginx (nginx-light), two ports, answering 200 "ok". Everything on 127.0.0.1; every
# process started here is stopped by PID on exit. Run after `npm run build`.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_WRK=${SECONDS_WRK:-8}
SECONDS_CHURN=${SECONDS_CHURN:-10}
CONNS=${CONNS:-32}
DIR=$(mktemp -d /tmp/outrigger-churn.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$DIR/nginx.pid" ] && kill "$(cat "$DIR/nginx.pid")" 2>/dev/null || true
  sleep 0.5
  rm -rf "$DIR"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P1=$(free_port); P2=$(free_port)
cat > "$DIR/nginx.conf" <<EOF
worker_processes 1; pid $DIR/nginx.pid; error_log $DIR/nginx-error.log; daemon on;
events { worker_connections 2048; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$P1; location / { return 200 "ok\n"; } }
  server { listen 127.0.0.1:$P2; location / { return 200 "ok\n"; } } }
EOF
nginx -c "$DIR/nginx.conf" -p "$DIR"
B1=http://127.0.0.1:$P1; B2=http://127.0.0.1:$P2

# start_outrigger WORKERS -> sets OPID and OPORT
start_outrigger() {
  printf '%s,%s\n' "$B1" "$B2" > "$DIR/sites"
  node dist/src/main.js --address 127.0.0.1:0 --workers "$1" --sites-file "$DIR/sites" --health-path /health \
    --health-duration 1s > "$DIR/out-$1.log" 2>&1 &
  OPID=$!; PIDS+=("$OPID")
  for _ in $(seq 100); do
    OPORT=$(grep -oE 'listening on http://127\.0\.0\.1:[0-9]+' "$DIR/out-$1.log" | grep -oE '[0-9]+$' || true)
    [ -n "$OPORT" ] && return 0
    sleep 0.1
  done
  echo "outrigger did not start"; cat "$DIR/out-$1.log"; exit 1
}
stop_outrigger() { kill "$OPID"; wait "$OPID" 2>/dev/null || true; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
metric() { curl -s "http://127.0.0.1:$OPORT/.prometheus/metrics" | awk -v n="$1" '$1==n {print $2}'; }
run_wrk() { timeout $((SECONDS_WRK + 10)) wrk -t2 -c"$CONNS" -d"${SECONDS_WRK}s" --latency "http://127.0.0.1:$OPORT/" \
  | awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx|Socket errors/ {err=err" "$0} END {printf "%s req/s, p50 %s, p99 %s%s\n", rps, p50, p99, (err==""?"":" |"err)}'; }

echo "# shared noisy machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); wrk -t2 -c$CONNS -d${SECONDS_WRK}s"
start_outrigger 2
echo "--workers 2, no churn:        $(run_wrk)"

m0=$(metric outrigger_control_messages_total); b0=$(metric outrigger_control_bytes_total); c0=$(cpu_ticks "$OPID"); t0=$(date +%s.%N)
( end=$(( $(date +%s) + SECONDS_CHURN )); i=0
  while [ "$(date +%s)" -lt "$end" ]; do
    # Three states in turn: with two, the watch's 150 ms settle time can land on the same one every time.
    case $((i % 3)) in 0) echo "$B1" ;; 1) printf '%s,%s\n' "$B1" "$B2" ;; 2) echo "$B2" ;; esac > "$DIR/sites.tmp"
    mv "$DIR/sites.tmp" "$DIR/sites"; i=$((i + 1)); sleep 0.1
  done; echo "$i" > "$DIR/flips" ) &
FLIPPER=$!; PIDS+=("$FLIPPER")
echo "--workers 2, churn (100 ms):  $(run_wrk)"
wait "$FLIPPER"
m1=$(metric outrigger_control_messages_total); b1=$(metric outrigger_control_bytes_total); c1=$(cpu_ticks "$OPID"); t1=$(date +%s.%N)
awk -v m="$((m1 - m0))" -v b="$((b1 - b0))" -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v t0="$t0" -v t1="$t1" -v f="$(cat "$DIR/flips")" 'BEGIN {
  s = t1 - t0; printf "churn: %d file writes in %.1f s; control plane sent %d messages (%.0f/s), %d bytes (%.0f B/s) to 2 workers; primary CPU %.2f s (%.0f%% of one core)\n", f, s, m, m / s, b, b / s, c / hz, 100 * c / hz / s }'
applied=$(grep -c 'sites file .* applied' "$DIR/out-2.log" || true)
echo "sites file changes applied (logged once, by the primary): $applied"
stop_outrigger

start_outrigger 1
echo "--workers 1, no churn:        $(run_wrk)"
stop_outrigger
