#!/usr/bin/env bash
# Installs Temporal's server and schema tool for the cluster topology (cached: a second run is a no-op).
# Prints the install folder. Same step as `bash scripts/setup.sh test|ci` runs; see scripts/lib/temporal-server.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/common.sh
. scripts/lib/temporal-server.sh
run_step "temporal server" setup_temporal_server >&2
echo "$TEMPORAL_SERVER_HOME"
