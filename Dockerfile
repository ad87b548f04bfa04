# syntax=docker/dockerfile:1
#
# Tessera container image: `docker build -t tessera .`
#
#   build    node:20 + dev dependencies: `npm ci` (its prepare step compiles too), `npm run build` -> dist/
#   runtime  node:20-bookworm-slim, production dependencies only, non-root, tini as PID 1
#
# No Docker engine runs on the project's machines, so deploy/check.sh rehearses these same
# steps without one (deploy/check/image-rehearsal.mjs reads this file: the runtime stage's `npm ci`
# line, its `COPY --from=build` sources, ENV, CMD and the HEALTHCHECK command).

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
# Sources before `npm ci`: its prepare script runs `npm run build`, which needs them.
COPY . .
RUN --mount=type=cache,target=/root/.npm npm ci
RUN npm run build

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime

# tini reaps zombies and forwards SIGTERM to node, which then shuts down gracefully
# (stops accepting, finishes in-flight requests, closes pools; SHUTDOWN_TIMEOUT_MS).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*

# A system user of its own (not the image's uid 1000 `node`); the same name as the systemd unit's.
RUN groupadd --system --gid 10001 tessera \
 && useradd --system --uid 10001 --gid tessera --home-dir /app --no-create-home --shell /usr/sbin/nologin tessera \
 && mkdir -p /data \
 && chown tessera:tessera /data

WORKDIR /app
# LOG_FORMAT=json: container logs are JSON on stdout whatever ENVIRONMENT says (the development
# preset's "pretty" needs pino-pretty, a dev dependency the image does not have).
ENV NODE_ENV=production \
    DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=8000 \
    LOG_FORMAT=json \
    MALLOC_ARENA_MAX=2 \
    npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

# Production dependencies only. --ignore-scripts: `prepare` would try to compile without
# TypeScript; the native modules (sharp, @node-rs/argon2) come as prebuilt optional packages.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts

# The compiled service and its executable. Owned by root: the process cannot rewrite its code.
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin

# Embedded mode keeps its database, uploads, keys and outbox here; with DATABASE_URL and
# STORAGE_PROVIDER=s3 only the e-mail outbox (when SMTP_HOST is unset) is written to it.
VOLUME /data
EXPOSE 8000
USER tessera

# Liveness: /health does no I/O (a slow database never gets a healthy process restarted) and is
# exempt from the ALLOWED_HOSTS check. Node's fetch: no curl or wget in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/health',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "bin/tessera.js", "serve"]
