# syntax=docker/dockerfile:1
# writ server image. Runs the TypeScript sources through tsx (a runtime dependency: `npm start` is
# `tsx src/server.ts`), so there is no build step and `npm ci --omit=dev` keeps everything the server needs.

ARG NODE_IMAGE=node:20-bookworm-slim
# Same OPA version as scripts/setup.sh; the CLI compiles Rego sent to POST /v1/zones/{id}/policy-sets/versions.
ARG OPA_VERSION=1.22.2

FROM openpolicyagent/opa:${OPA_VERSION}-static AS opa

FROM ${NODE_IMAGE} AS deps
# better-sqlite3 compiles from source when no prebuilt binary matches the platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    WRIT_HOST=0.0.0.0 \
    WRIT_PORT=8080 \
    WRIT_DATA_DIR=/data \
    WRIT_OPA_PATH=/usr/local/bin/opa
WORKDIR /app
COPY --from=opa /opa /usr/local/bin/opa
COPY --from=deps /app/node_modules ./node_modules
# Sources stay owned by root: the server process can read its code but not change it.
COPY . .
# A named volume mounted on an empty path takes this owner, so the non-root user can write its ledger and keys.
RUN mkdir -p /data/keys && chown -R node:node /data && chmod 700 /data
USER node
VOLUME ["/data"]
EXPOSE 8080
# No curl in the slim image: node's fetch probes readiness (ledger, redis, projections caught up).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.WRIT_PORT||8080)+'/v1/health/ready',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# tsx directly rather than `npm start`: signals reach the server, which closes the ledger cleanly on SIGTERM.
CMD ["node_modules/.bin/tsx", "src/server.ts"]
