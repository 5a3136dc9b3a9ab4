#!/usr/bin/env bash
# Type-check, lint, then every test. One test file at a time: the machine has 2 cores and the integration
# tests start real servers (PostgreSQL, Temporal, Docker containers) and time heartbeats. Not --runInBand:
# files must run in worker processes that jest recycles (see jest.config.js). Extra arguments go to jest.
set -euo pipefail
cd "$(dirname "$0")/.."

timed() {
  local label=$1 started=$SECONDS
  shift
  echo "test: $label"
  "$@"
  echo "test: $label passed in $((SECONDS - started)) s"
}

timed "tsc" npx tsc --noEmit -p .
timed "eslint" npx eslint .
timed "jest" npx jest --maxWorkers=1 "$@"
