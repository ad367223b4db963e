# One image for every stockflow service; the command picks the service.
# Debian (glibc), not Alpine: the console's sessions use sodium-native (@fastify/secure-session), which
# ships prebuilt binaries for glibc only; on musl it finds no linux-x64-musl build and the console cannot
# start (holepunchto/sodium-native#247). The slim image has neither wget nor curl: compose's health checks
# ask with node.
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY patches patches
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin bin
COPY lib lib
COPY schemas schemas
COPY ledger ledger
COPY db db
COPY importer importer
COPY processor processor
COPY alerter alerter
COPY ops ops
COPY web web
COPY infra infra
USER node
ENTRYPOINT ["node", "bin/stockflow.js"]
