// Who may use the console. On loopback without WEB_PASSWORD, whoever can reach 127.0.0.1 already has the
// machine, so no login is asked. With WEB_PASSWORD every page needs one; refused sign-ins are limited per
// address (the client's, as a proxy declared in WEB_TRUST_PROXY reports it).
// The name given at login is what the audit records (threshold changes, re-drives) say about who did it.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { HIDDEN_ALL } from '../ledger/hidden-characters.ts'
import { type Config, urlHost } from '../lib/config.ts'
import type { Sql } from '../lib/db.ts'
import { one } from './stock-query.ts'

declare module '@fastify/secure-session' {
  interface SessionData {
    user: string
    /** The server-side session (web_sessions) this cookie belongs to: sign-out ends it there. */
    sid: string
    flash: { kind: 'ok' | 'error'; text: string } | undefined
  }
}

const OPEN_PATHS = ['/login', '/healthz', '/static/']

/** Same-length digests, compared in constant time, so the comparison says nothing about the password. */
export function passwordMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

/** How long a sign-in lasts, in the cookie and on the server. */
export const SESSION_SECONDS = 12 * 3600

/**
 * The name given at sign-in, as the audit and the header show it: free text, so markup, control and
 * format characters (a right-to-left override among them) are taken out, and runs of space become one.
 */
export function cleanName(text: string): string {
  const clean = text
    .replace(/<[^>]*>/g, '')
    .replace(/\s+/g, ' ')
    .replace(HIDDEN_ALL, '')
    .replace(/[<>"'`&@]/g, '')
    .trim()
  // 64 code points: cutting by UTF-16 unit can leave half of an emoji.
  return Array.from(clean).slice(0, 64).join('').trim()
}

/** A redirect target after login: a path on this console only, never another site. */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])[\x21-\x7e]*$/.test(next) ? next : '/stock'
}

/** "web:<name>@<address>": the actor in audit rows. */
export function actorOf(req: FastifyRequest): string {
  return `web:${req.session.get('user') ?? 'local'}@${req.ip}`
}

/** The host name a request or an Origin names, lower case, IPv6 in brackets; undefined when unparsable. */
export function hostnameOf(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined
  try {
    return new URL(`http://${hostHeader}`).hostname.toLowerCase()
  } catch {
    return undefined
  }
}

/**
 * The names the console answers to. Without a login, only this machine's own names: a page elsewhere
 * whose name was re-pointed at 127.0.0.1 (DNS rebinding) is then refused, instead of acting as the
 * console's own origin. With WEB_PASSWORD, any name that reaches it, unless WEB_ALLOWED_HOSTS says.
 */
export function allowedHosts(web: Config['web']): Set<string> | undefined {
  if (web.allowedHosts.length > 0) return new Set(web.allowedHosts.map((h) => h.toLowerCase()))
  if (web.password !== undefined) return undefined
  const own = hostnameOf(urlHost(web.host))
  return new Set(['127.0.0.1', 'localhost', '[::1]', ...(own ? [own] : [])])
}

/** Refuses requests for another host name, and form posts from another site. */
export function guardHosts(app: FastifyInstance, allowed: Set<string> | undefined): void {
  app.addHook('onRequest', async (req, reply) => {
    // The container's own health check asks by address, whatever names the console answers to.
    if (req.url === '/healthz') return
    const host = hostnameOf(req.headers.host)
    const refuse = (message: string) => {
      req.log.warn({ host: req.headers.host, origin: req.headers.origin, url: req.url }, message)
      reply.code(403)
      return reply.page('error', '403', { status: 403, message })
    }
    if (!host || (allowed && !allowed.has(host))) {
      return refuse(`This console does not answer to '${req.headers.host ?? ''}' (WEB_ALLOWED_HOSTS).`)
    }
    if (req.method === 'GET' || req.method === 'HEAD') return
    if (
      isForeign(req.headers['sec-fetch-site'] as string | undefined, req.headers.origin, req.headers.host)
    ) {
      return refuse('A form may only be sent from this console itself.')
    }
  })
}

/**
 * Whether a request that changes something came from another site. Browsers say so in Sec-Fetch-Site;
 * older ones only in Origin, which must then be this console's own (host and port, as the request names
 * them). A request with neither is not from a browser page, and CSRF tokens still guard it.
 */
export function isForeign(
  site: string | undefined,
  origin: string | undefined,
  host: string | undefined,
): boolean {
  if (site !== undefined) return site !== 'same-origin' && site !== 'none'
  if (origin === undefined) return false
  if (origin === 'null' || !URL.canParse(origin) || !host) return true
  return new URL(origin).host !== host.toLowerCase()
}

/** Whether a cookie's server-side session is still open (not signed out, not expired). */
async function sessionLive(sql: Sql, sid: unknown): Promise<boolean> {
  if (typeof sid !== 'string' || !/^[0-9a-f-]{36}$/.test(sid)) return false
  const rows = await sql`select 1 from live_web_sessions where id = ${sid}::uuid`
  return rows.length === 1
}

export async function registerAuth(app: FastifyInstance, web: Config['web'], sql: Sql): Promise<void> {
  const password = web.password
  if (password === undefined) return

  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0] ?? '/'
    if (OPEN_PATHS.some((p) => path === p || (p.endsWith('/') && path.startsWith(p)))) return
    if (req.session.get('user')) {
      if (await sessionLive(sql, req.session.get('sid'))) return
      // Signed out elsewhere, or expired on the server: this copy of the cookie is worth nothing now.
      req.session.delete()
    }
    if (req.method === 'GET') return reply.redirect(`/login?next=${encodeURIComponent(req.url)}`)
    reply.code(401)
    return reply.page('error', '401', { status: 401, message: 'Sign in first.' })
  })

  app.get('/login', async (req, reply) => {
    const next = safeNext((req.query as { next?: string }).next)
    return reply.page('login', 'Sign in', { next, problem: undefined, name: '' })
  })

  // Refused sign-ins per address and minute. Only a post that passed its CSRF check and was then refused
  // counts, so expired forms (or forged posts aimed at the address of a shared proxy) lock nobody out.
  // The local store answers at once, so no other request runs between an attempt's check and its count.
  const refusals = app.createRateLimit({ max: web.loginPerMinute, timeWindow: 60_000 })

  app.post('/login', { preHandler: app.csrfProtection }, async (req, reply) => {
    const limit = await refusals(req, { increment: false })
    if (!limit.isAllowed && limit.remaining === 0) {
      req.log.warn({ ip: req.ip }, 'console login refused: too many attempts')
      reply.header('retry-after', String(limit.ttlInSeconds))
      throw Object.assign(new Error('too many refused sign-ins from this address'), { statusCode: 429 })
    }
    const body = (req.body ?? {}) as Record<string, string | string[] | undefined>
    const name = cleanName(one(body, 'name') ?? '')
    const next = safeNext(one(body, 'next'))
    // A missing name counts too: otherwise whether a nameless attempt counted would tell its password.
    if (!name || !passwordMatches(one(body, 'password') ?? '', password)) {
      await refusals(req)
      req.log.warn({ ip: req.ip }, 'console login refused')
      reply.code(401)
      return reply.page('login', 'Sign in', {
        next,
        name,
        problem: name ? 'That password is not right.' : 'Give your name: it goes into the audit log.',
      })
    }
    // A fresh session at login: nothing set before it (a planted CSRF secret included) carries over.
    const [opened] = await sql`select open_web_session(${name}, ${req.ip}, ${SESSION_SECONDS})::text as id`
    req.session.regenerate([])
    req.session.set('user', name)
    req.session.set('sid', opened!.id as string)
    req.log.info({ user: name, ip: req.ip }, 'console login')
    return reply.redirect(next)
  })

  app.post('/logout', { preHandler: app.csrfProtection }, async (req, reply) => {
    const sid = req.session.get('sid')
    if (typeof sid === 'string' && /^[0-9a-f-]{36}$/.test(sid)) {
      await sql`select end_web_session(${sid}::uuid)`
    }
    req.session.delete()
    return reply.redirect('/login')
  })
}
