# lease-engine: one image, one role per container (docker-compose.yml shows the topology).
#   docker run lease-engine api | control-worker | host-agent --host-id … | setup | cli …
# TypeScript runs through tsx (a runtime dependency), so there is no build step to drift from the sources.
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

# Host keys (host-agent) live here; mount a volume so a host keeps its identity across restarts.
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME ["/app/data"]

# The host agent needs the Docker socket, usually root-owned: compose runs it as root; the others as `node`.
USER node

ENTRYPOINT ["/bin/sh", "-c", "role=$0; case \"$role\" in \
  api) exec node --import tsx api/server.ts \"$@\" ;; \
  control-worker) exec node --import tsx workers/control/main.ts \"$@\" ;; \
  host-agent) exec node --import tsx workers/host-agent/main.ts \"$@\" ;; \
  setup) exec node --import tsx scripts/launcher/prepare-cluster.ts \"$@\" ;; \
  cli) exec node --import tsx api/cli.ts \"$@\" ;; \
  *) echo \"unknown role '$role': use api, control-worker, host-agent, setup or cli\" >&2; exit 2 ;; \
  esac"]
CMD ["api"]
