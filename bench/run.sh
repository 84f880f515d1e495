#!/usr/bin/env bash
# Entry point of `npm run bench` (which has just built dist/, bench/ included).
#   1. bench/setup.sh --plan says which Debian packages will be installed, then bench/setup.sh installs
#      them (nginx-light, haproxy, wrk, ...) and the node peer's deps if missing;
#   2. dist/bench/main.js runs the whole matrix and prints the table;
#   3. dist/bench/cache.js, the shared cache's rows (needs Swift), when TARGETS is unset or names `cache`.
# main.js stops everything it started; the EXIT trap below is the safety net for the case it
# could not (killed with SIGKILL, crashed): it stops, by PID, whatever pid files are left.
# Settings are env vars: see bench/README.md (e.g. DURATION=2 WARMUP=1 npm run bench).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
state=${BENCH_STATE:-/tmp/outrigger-bench-repo}

cleanup() {
  local f pid
  for f in "$state"/pids/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    # each pid leads its own process group (started detached): signal the group
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      echo "[bench] cleanup: stopping leftover $(basename "$f" .pid) (pid $pid)" >&2
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
}
trap cleanup EXIT

# Say what will be installed before anything is (and give a moment to stop it).
plan=$(bash "$repo/bench/setup.sh" --plan)
echo "$plan" >&2
case "$plan" in *"will install"*) sleep 5 ;; esac
bash "$repo/bench/setup.sh"
[ -f "$repo/dist/bench/main.js" ] || { echo "dist/bench/main.js missing: run npm run build (or npm run bench)" >&2; exit 1; }
if [ -n "${BASELINE:-}" ]; then
  BASELINE_DIR=$(bash "$repo/bench/baseline.sh")
  export BASELINE_DIR
fi
targets=",${TARGETS:-},"
# TARGETS=cache alone: only the cache rows.
if [ "$targets" != ",cache," ]; then
  node "$repo/dist/bench/main.js"
fi
if [ "$targets" = ",," ] || [[ "$targets" == *",cache,"* ]]; then
  if [ -x /usr/bin/swift-proxy-server ]; then
    node "$repo/dist/bench/cache.js"
  else
    echo "[bench] cache rows skipped: Swift is not installed (swift-proxy swift-object swift-container swift-account memcached)" >&2
  fi
fi
