# One image for every stockflow service; the command picks the service.
FROM node:24-alpine
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
