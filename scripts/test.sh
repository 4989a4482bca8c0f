#!/usr/bin/env bash
# The one command that runs every test on a fresh machine: set-up, lint, type
# check, unit tests, then the data-plane tests (root), then the benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent lint
npm run --silent typecheck
npx jest --ci --selectProjects unit
npx jest --ci --selectProjects dataplane --runInBand
bash scripts/bench.sh
