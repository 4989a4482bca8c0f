#!/usr/bin/env bash
# Runs every benchmark script under test/bench; each prints its BENCH lines last.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
for script in test/bench/*.bench.ts; do
  echo "== ${script}"
  npx tsx "$script"
done
