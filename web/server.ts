// The web console's HTTP server: Fastify with its maintained plugins for what a public-facing form app
// needs (security headers and CSP, encrypted session cookies, CSRF tokens, login rate limits, uploads).
// Pages read through the read-only role; the two actions go through narrow, audited code paths.
import { createHash, randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import csrf from '@fastify/csrf-protection'
import formbody from '@fastify/formbody'
import helmet from '@fastify/helmet'
import multipart from '@fastify/multipart'
import rateLimit from '@fastify/rate-limit'
import secureSession from '@fastify/secure-session'
import fastifyStatic from '@fastify/static'
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  LogController,
} from 'fastify'
import { AppError } from '../lib/errors.ts'
import { registerAlertPages } from './alert-pages.ts'
import { allowedHosts, guardHosts, registerAuth, SESSION_SECONDS } from './auth.ts'
import { registerErrorPages } from './error-pages.ts'
import { registerImportPages } from './import-pages.ts'
import { createItemNameCache, type ItemNames, itemLabel } from './item-names.ts'
import { registerLedgerPages } from './ledger-pages.ts'
import { registerPipelinePages } from './pipeline-pages.ts'
import { createRenderer, helpers, NAV, pageContext } from './render.ts'
import { registerRevertPages } from './revert-pages.ts'
import { registerStockPages } from './stock-pages.ts'
import type { WebDeps } from './web-deps.ts'

const PUBLIC = fileURLToPath(new URL('./public/', import.meta.url))

/**
 * The session key: from WEB_SESSION_SECRET, so sessions survive a restart, or fresh for this process. The
 * password goes into it too, so changing WEB_PASSWORD ends every session made under the old one.
 */
function sessionKey(secret: string | undefined, password: string | undefined): Buffer {
  if (!secret) return randomBytes(32)
  return createHash('sha256')
    .update(`stockflow-web-session:${secret}\0${password ?? ''}`)
    .digest()
}

export async function createWebServer(deps: WebDeps): Promise<FastifyInstance> {
  const { config, log } = deps
  const app = Fastify({
    // pino's Logger is Fastify's logger type with more on it; typed as the base so plugins accept the instance.
    loggerInstance: log as FastifyBaseLogger,
    // Each page view is not an event worth a line; actions log themselves.
    logController: new LogController({ disableRequestLogging: true }),
    // Only a declared proxy's X-Forwarded-For/-Proto count: they decide req.ip (the login limit's key) and
    // req.protocol (whether the session cookie is Secure).
    trustProxy: config.web.trustProxy,
    bodyLimit: 1024 * 1024,
    // With WEB_TLS_CERT and WEB_TLS_KEY the console serves https only; null: plain http.
    https: deps.tls ?? null,
  })
  const render = createRenderer({ cache: true })

  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
    },
    // The console may be reached over plain http on loopback; HSTS would pin that host to https.
    strictTransportSecurity: false,
    // Same-origin requests keep their Origin (no-referrer would make form posts say "null").
    referrerPolicy: { policy: 'same-origin' },
  })
  await app.register(secureSession, {
    key: sessionKey(config.web.sessionSecret, config.web.password),
    cookieName: 'stockflow_session',
    expiry: SESSION_SECONDS,
    // Secure exactly when the request came over https (here, or at a trusted proxy): a Secure cookie sent
    // over http is dropped by browsers other than for their own loopback, and every form would "expire".
    cookie: { path: '/', httpOnly: true, sameSite: 'strict', secure: 'auto' },
  })
  await app.register(csrf, {
    sessionPlugin: '@fastify/secure-session',
    // Forms post the token as a field; an upload carries it in a header set from the form's first part.
    getToken: (req) =>
      (req.body as { _csrf?: string } | undefined)?._csrf ?? (req.headers['x-csrf-token'] as string),
  })
  await app.register(rateLimit, { global: false })
  await app.register(formbody)
  // One byte over the importer's limit gets through, so placeUpload sees the file is too large and refuses
  // it whole; at the limit itself busboy would cut the file short and end the stream as if it were complete.
  await app.register(multipart, {
    limits: { fileSize: config.importer.maxFileBytes + 1, files: 1, fields: 4 },
  })
  // The console posts forms only; a JSON body is never what one of its routes expects.
  app.removeContentTypeParser('application/json')
  await app.register(fastifyStatic, { root: PUBLIC, prefix: '/static/', index: false, maxAge: 3600_000 })

  const itemNames = createItemNameCache({ sql: deps.sql, clock: deps.clock, ttlMs: 5_000 })
  app.decorateReply(
    'page',
    async function (template: string, title: string, data: Record<string, unknown> = {}) {
      const ctx = await pageContext(this.request, this, title)
      // An error page must render even when the database is away: then items show as numbers.
      const names = await itemNames.get().catch(() => new Map() as ItemNames)
      const h = { ...helpers, item: (n: number | null | undefined) => itemLabel(names, n) }
      const html = render(template, { ...ctx, nav: NAV, h, ...data })
      return this.type('text/html; charset=utf-8').send(html)
    },
  )

  app.setErrorHandler(async (err: FastifyError, req, reply) => {
    const status =
      err instanceof AppError
        ? err.code === 'NOT_FOUND'
          ? 404
          : err.code === 'WEB_INPUT' || err.code === 'REDRIVE_CHANGED' || err.code === 'REVERT_CHANGED'
            ? 400
            : 500
        : (err.statusCode ?? 500)
    if (status >= 500) log.error({ err, url: req.url }, 'console request failed')
    const message =
      err.code === 'FST_CSRF_INVALID_TOKEN' || err.code === 'FST_CSRF_MISSING_SECRET'
        ? 'This form has expired or did not come from this console. Go back, reload the page and try again.'
        : status === 429
          ? 'Too many attempts. Wait a minute and try again.'
          : status >= 500
            ? 'Something went wrong on the server; it has been logged.'
            : err.message
    reply.code(status)
    return reply.page('error', `${status}`, { status, message })
  })
  app.setNotFoundHandler(async (_req, reply) => {
    reply.code(404)
    return reply.page('error', '404', { status: 404, message: 'There is no such page.' })
  })

  app.get('/healthz', async () => ({ ok: true }))
  guardHosts(app, allowedHosts(config.web))
  app.get('/', async (_req, reply) => reply.redirect('/stock'))
  await registerAuth(app, config.web, deps.sql)
  await registerStockPages(app, deps)
  await registerLedgerPages(app, deps)
  await registerImportPages(app, deps)
  await registerRevertPages(app, deps)
  await registerErrorPages(app, deps)
  await registerAlertPages(app, deps)
  await registerPipelinePages(app, deps)
  return app
}
