# syntax=docker/dockerfile:1
# Production image of interview-feeds: built with dev dependencies, run with production ones only, as a non-root
# user. Build: docker build -t interview-feeds .   Run: docker run -p 3000:3000 --env-file .env -v feeds-data:/app/data interview-feeds

# Node 24 LTS ("Krypton"; Node 20 left support on 2026-04-30): the newest line with an LTS release. Node 26 is due to
# become LTS, but its releases so far report no LTS name (process.release.lts) and oidc-provider calls it unsupported.
# .ci/run runs the test suite on this major too; package.json's engines keep Node 20.19, the machines' Node, working.
# --- build: compile TypeScript to dist/ ------------------------------------------------------------------------
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- runtime: production dependencies and the compiled code, nothing else --------------------------------------
FROM node:24-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    DATA_DIR=/app/data
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The registry of integrations and each one's last snapshot are saved here, so a restart serves feeds before Kombo
# answers and removed integrations stay removed; owned by the user that runs.
RUN mkdir -p /app/data && chown node:node /app/data
# `node` (uid 1000) comes with the official image.
USER node
VOLUME ["/app/data"]
EXPOSE 3000
# Node itself, since slim images have no curl: healthy while /healthz answers 200.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node directly, not npm start: npm would rebuild (prestart) and stands between the signals and the process. The
# service handles SIGTERM and SIGINT itself, so it stops cleanly as PID 1.
CMD ["node", "dist/main.js"]
