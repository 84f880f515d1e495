#!/usr/bin/env bash
# BASELINE=<git ref>: builds that commit of this repository into $BENCH_STATE/baseline-<sha>
# (git archive + npm ci, which builds dist/ in `prepare`), once per commit, and prints the dir.
# The benchmark then runs it as the outrigger-base (and outrigger-base-h2) rows beside this
# checkout, so "before" and "after" are measured in the same run on the same machine.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
state=${BENCH_STATE:-/tmp/outrigger-bench-repo}
sha=$(git -C "$repo" rev-parse --verify --short "${BASELINE}^{commit}")
dir="$state/baseline-$sha"
if [ ! -f "$dir/dist/src/main.js" ]; then
  echo "[bench] building BASELINE $BASELINE ($sha) into $dir" >&2
  rm -rf "$dir" && mkdir -p "$dir"
  git -C "$repo" archive "$sha" | tar -x -C "$dir"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
echo "$dir"
