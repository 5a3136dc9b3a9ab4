#!/usr/bin/env bash
# Installs and starts what lease-engine needs on this machine, idempotently: a second run skips every
# step in seconds. Modes: runtime (`npm start`), test (`npm test`), ci (a fresh machine, then `npm test`).
# Each step prints one line; tool output goes to $SETUP_LOG (default /tmp/lease-engine-setup.log).
set -euo pipefail

mode=${1:-runtime}
case "$mode" in
  runtime | test | ci) ;;
  *) echo "usage: bash scripts/setup.sh <runtime|test|ci>" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
lib=scripts/lib
# shellcheck source=lib/common.sh
for file in "$lib"/common.sh "$lib"/node-modules.sh "$lib"/temporal-cli.sh "$lib"/docker-engine.sh \
  "$lib"/demo-image.sh "$lib"/solana-program.sh "$lib"/docker-compose.sh "$lib"/temporal-server.sh \
  "$lib"/control-worker-build.sh "$lib"/chromium.sh "$lib"/schemathesis.sh; do
  . "$file"
done

setup_started=$(date +%s)
run_step "node modules" setup_node_modules
run_step "temporal cli" setup_temporal_cli
run_step "docker engine" setup_docker_engine
run_step "demo image" setup_demo_image
run_step "solana program" setup_solana_program
run_step "control worker" setup_control_worker_build
# Temporal's real server (the cluster topology): the tests run a lease through it, so CI builds it; `npm
# start` only when asked for that topology (LEASE_ENGINE_TOPOLOGY=cluster, as `npm run start:cluster` sets).
if [ "$mode" != runtime ] || [ "${LEASE_ENGINE_TOPOLOGY:-embedded}" = cluster ]; then
  run_step "temporal server" setup_temporal_server
fi
if [ "$mode" != runtime ]; then
  # PostgreSQL needs nothing here: its server binaries ship with the machine, and jest's global
  # setup starts a throwaway cluster.
  run_step "docker-compose" setup_docker_compose
  # The dashboard's browser test (test/integration/dashboard) drives it through playwright-core.
  run_step "chromium" setup_chromium
  # The API fuzz test (test/integration/api/schemathesis.test.ts) runs the schemathesis CLI.
  run_step "schemathesis" setup_schemathesis
fi
echo "setup: $mode ready in $(($(date +%s) - setup_started)) s"
