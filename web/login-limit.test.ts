// The sign-in limit through the real server, without a database: a sign-in only opens a server-side
// session, which a stand-in answers here (the real one is tested in test/web-security.test.ts).
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../lib/config.ts'
import type { Sql } from '../lib/db.ts'
import { createLogger } from '../lib/log.ts'
import { createWebServer } from './server.ts'

const PASSWORD = 'correct horse battery'

const env = {
  KAFKA_BROKERS: '127.0.0.1:9092',
  SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081',
  DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db',
  WEB_PASSWORD: PASSWORD,
  WEB_LOGIN_PER_MINUTE: '3',
}

let app: FastifyInstance | undefined
afterEach(async () => {
  await app?.close()
  app = undefined
})

async function server(extra: Record<string, string> = {}): Promise<FastifyInstance> {
  app = await createWebServer({
    sql: (async () => [{ id: '00000000-0000-4000-8000-000000000001' }]) as unknown as Sql,
    log: createLogger({ name: 'web', level: 'silent' }),
    clock: Date.now,
    config: loadConfig({ ...env, ...extra }),
    redriveSend: undefined,
    pipeline: { lag: async () => ({}), readiness: async () => [] },
  })
  return app
}

/** One browser: its cookie and the CSRF token of the login form it last loaded. */
async function visitor(a: FastifyInstance, headers: Record<string, string> = {}) {
  let cookie = ''
  const keep = (res: LightMyRequestResponse) => {
    const set = res.cookies.find((c) => c.name === 'stockflow_session')
    if (set) cookie = `stockflow_session=${encodeURIComponent(set.value)}`
    return res
  }
  const form = async () => {
    const res = keep(await a.inject({ method: 'GET', url: '/login', headers: { ...headers, cookie } }))
    return /name="_csrf" value="([^"]+)"/.exec(res.body)?.[1] ?? ''
  }
  const post = async (fields: Record<string, string>) =>
    keep(
      await a.inject({
        method: 'POST',
        url: '/login',
        headers: { ...headers, cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams(fields).toString(),
      }),
    )
  return {
    signIn: async (password: string) => post({ _csrf: await form(), name: 'Ann', password }),
    forged: async () => post({ _csrf: 'forged', name: 'Mallory', password: PASSWORD }),
    cookie: () => cookie,
  }
}

describe('console sign-in limit', () => {
  it('counts refused passwords only, and then refuses even the right one', async () => {
    const a = await server()
    const ann = await visitor(a)
    const mallory = await visitor(a)
    for (let i = 0; i < 10; i++) expect((await mallory.forged()).statusCode).toBe(403)
    expect((await ann.signIn(PASSWORD)).statusCode).toBe(302)
    expect((await ann.signIn(PASSWORD)).statusCode).toBe(302)

    expect([
      (await mallory.signIn('guess')).statusCode,
      (await mallory.signIn('guess')).statusCode,
      (await mallory.signIn('guess')).statusCode,
    ]).toEqual([401, 401, 401])
    const locked = await ann.signIn(PASSWORD)
    expect(locked.statusCode).toBe(429)
    expect(locked.body).toContain('Too many attempts. Wait a minute and try again.')
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0)
  })

  it('counts a declared proxy’s clients apart, and ignores the header from anyone else', async () => {
    const direct = await server()
    const fromA = await visitor(direct, { 'x-forwarded-for': '198.51.100.1' })
    const fromB = await visitor(direct, { 'x-forwarded-for': '198.51.100.2' })
    for (let i = 0; i < 3; i++) expect((await fromA.signIn('guess')).statusCode).toBe(401)
    // Not trusted: both are the same peer, 127.0.0.1, already at its limit.
    expect((await fromB.signIn(PASSWORD)).statusCode).toBe(429)
    await direct.close()

    const proxied = await server({ WEB_TRUST_PROXY: '127.0.0.1' })
    const a = await visitor(proxied, { 'x-forwarded-for': '198.51.100.1' })
    const b = await visitor(proxied, { 'x-forwarded-for': '198.51.100.2' })
    for (let i = 0; i < 3; i++) expect((await a.signIn('guess')).statusCode).toBe(401)
    expect((await a.signIn(PASSWORD)).statusCode).toBe(429)
    expect((await b.signIn(PASSWORD)).statusCode).toBe(302)
  })

  it('makes the session cookie Secure only for a request that came over https', async () => {
    const plain = await server()
    const ann = await visitor(plain)
    const res = await ann.signIn(PASSWORD)
    expect(res.cookies.find((c) => c.name === 'stockflow_session')?.secure).toBeUndefined()
    await plain.close()

    const proxied = await server({ WEB_TRUST_PROXY: '127.0.0.1' })
    const viaTls = await visitor(proxied, { 'x-forwarded-proto': 'https' })
    const signed = await viaTls.signIn(PASSWORD)
    expect(signed.statusCode).toBe(302)
    expect(signed.cookies.find((c) => c.name === 'stockflow_session')?.secure).toBe(true)
  })
})
