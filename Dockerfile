# OpsTrails Impact as compiled JavaScript on Node 20. Debian (glibc), not Alpine: chDB's
# prebuilt native library (@chdb/lib-linux-*-gnu, an optional dependency npm picks by
# platform) is built for glibc. Its install downloads nothing beyond the npm registry, so
# the slim image needs no curl or extra CA certificates (npm uses Node's bundled ones).
#   build      dev dependencies, `npm run build` → dist/
#   prod-deps  runtime dependencies only (`npm ci --omit=dev`)
#   runtime    the two above, run by the unprivileged `node` user
ARG NODE_IMAGE=node:20.20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# Sources only: .dockerignore keeps tests, benchmarks, docs, data and secrets out.
COPY . .
RUN npm run build

FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
# /data holds the embedded store (chDB) and its secret key file when CLICKHOUSE_URL is unset;
# `opstrails-impact <command>` (backfill, report, ...) runs the same dist/ in the container.
RUN mkdir -p /data && chown node:node /data \
    && ln -s /app/bin/opstrails-impact.js /usr/local/bin/opstrails-impact
VOLUME ["/data"]
USER node
EXPOSE 8080
STOPSIGNAL SIGTERM
# No curl in the slim image: Node's fetch asks /healthz (process up).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/cli/main.js", "serve"]
