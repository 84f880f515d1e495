#!/usr/bin/env bash
# Installs what the benchmark needs, only when it is missing (idempotent):
#   - Debian packages: nginx-light (backends and the nginx peer), haproxy, wrk, curl
#   - the node peer's npm deps (http-proxy) into bench/peers/node_modules, from its own lockfile,
#     so nothing benchmark-only ends up in the main package.json.
# wrk is optional: when it cannot be installed, main.ts falls back to autocannon via npx.
#   bench/setup.sh --plan   only says what it would install (run.sh prints this first), installs nothing
#   BENCH_NO_INSTALL=1      never installs: a missing required tool is an error
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

need=()
for pair in nginx:nginx-light haproxy:haproxy wrk:wrk curl:curl taskset:util-linux h2load:nghttp2-client openssl:openssl; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done

if [ "${1:-}" = --plan ]; then
  if [ ${#need[@]} -eq 0 ]; then
    echo "npm run bench: the Debian packages it needs are installed"
  elif [ -n "${BENCH_NO_INSTALL:-}" ]; then
    echo "npm run bench: missing Debian packages ${need[*]}; BENCH_NO_INSTALL is set, so nothing will be installed"
  else
    echo "npm run bench will install Debian packages with apt-get (as root): ${need[*]}"
    echo "  (set BENCH_NO_INSTALL=1 to install nothing; Ctrl-C now to stop)"
  fi
  exit 0
fi

if [ ${#need[@]} -gt 0 ]; then
  if [ -n "${BENCH_NO_INSTALL:-}" ] || [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "bench/setup.sh: missing ${need[*]}; install them (Debian: apt-get install ${need[*]})" >&2
  else
    # Installing nginx/haproxy would normally start their system services on 0.0.0.0:80.
    # A policy-rc.d that exits 101 forbids service starts; we add one only if none exists,
    # and remove only the one we added.
    made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
      chmod +x /usr/sbin/policy-rc.d
      made_policy=1
    fi
    trap '[ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
    echo "bench/setup.sh: apt-get install ${need[*]}" >&2
    apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
      echo "bench/setup.sh: apt-get install failed; continuing with what is there" >&2
  fi
fi

# nginx and haproxy are required; wrk is not (autocannon fallback).
for c in nginx haproxy curl taskset; do
  command -v "$c" >/dev/null 2>&1 || { echo "bench/setup.sh: '$c' is required and could not be installed" >&2; exit 1; }
done
command -v wrk >/dev/null 2>&1 || echo "bench/setup.sh: wrk not available; the load generator falls back to autocannon (npx)" >&2

if [ ! -f "$here/peers/node_modules/http-proxy/package.json" ]; then
  (cd "$here/peers" && npm ci --no-audit --no-fund --loglevel=error)
fi
