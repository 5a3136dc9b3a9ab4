# lease-engine: one image, one role per container (docker-compose.yml shows the topology).
#   docker run lease-engine api | balancer … | control-worker | host-agent --host-id … | setup | temporal … | cli …
# TypeScript runs through tsx (a runtime dependency), so there is no build step to drift from the sources.

# Temporal's server and schema tool (the `temporal` role: the cluster topology's Temporal on PostgreSQL),
# built from the Go module proxy exactly as scripts/lib/temporal-server.sh does on a host.
FROM golang:1.26-bookworm AS temporal-server
WORKDIR /build
COPY scripts/lib/common.sh scripts/lib/temporal-server.sh ./scripts/lib/
RUN bash -c 'set -euo pipefail; export TEMPORAL_SERVER_HOME=/opt/temporal-server SETUP_LOG=/tmp/build.log; \
  . scripts/lib/common.sh; . scripts/lib/temporal-server.sh; setup_temporal_server'

FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production

COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force

COPY tsconfig.json ./
COPY domain ./domain
COPY workflows ./workflows
COPY activities ./activities
COPY infra ./infra
COPY workers ./workers
COPY api ./api
COPY scripts/launcher ./scripts/launcher
COPY scripts/cluster ./scripts/cluster
COPY scripts/build-control-worker.ts ./scripts/
COPY --from=temporal-server /opt/temporal-server /opt/temporal-server
ENV TEMPORAL_SERVER_HOME=/opt/temporal-server

# The control worker built ahead (workflow bundle, worker compiled to JavaScript): it polls within seconds
# of a (re)start. A worker whose sources differ from them (never, in this image) bundles and transpiles instead.
RUN node --import tsx scripts/build-control-worker.ts

# Host keys (host-agent) live here; mount a volume so a host keeps its identity across restarts.
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME ["/app/data"]

# The host agent needs the Docker socket, usually root-owned: compose runs it as root; the others as `node`.
USER node

ENTRYPOINT ["/bin/sh", "-c", "role=$0; case \"$role\" in \
  api) exec node --import tsx api/server.ts \"$@\" ;; \
  control-worker) exec node workers/control/start.cjs \"$@\" ;; \
  host-agent) exec node --import tsx workers/host-agent/main.ts \"$@\" ;; \
  setup) exec node --import tsx scripts/launcher/prepare-cluster.ts \"$@\" ;; \
  temporal) exec node --import tsx scripts/cluster/temporal-role.ts \"$@\" ;; \
  balancer) exec node --import tsx scripts/launcher/balancer-main.ts \"$@\" ;; \
  cli) exec node --import tsx api/cli.ts \"$@\" ;; \
  *) echo \"unknown role '$role': use api, balancer, control-worker, host-agent, setup, temporal or cli\" >&2; exit 2 ;; \
  esac"]
CMD ["api"]
