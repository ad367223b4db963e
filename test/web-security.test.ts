// What the web console refuses, in a real browser against the real stack: forged or missing CSRF tokens,
// uploads larger than the importer takes, foreign host names and cross-site forms, and, with a password,
// anyone who has not signed in (with a limit on refused passwords). Binding beyond loopback needs that
// password, and https (here or at a declared proxy); on loopback plain http keeps working.
import { execFileSync } from 'node:child_process'
import { copyFile, mkdtemp, readdir, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../lib/config.ts'
import { screenshot } from './support/browser.ts'
import { type ConsoleFixture, EXAMPLES, rawRequest, startConsoleFixture } from './support/console.ts'
import { pollUntil, sqlstateAs, sqlstateOf } from './support/context.ts'

describe('web console security', () => {
  let f: ConsoleFixture
  let page: Page
  let base: string

  beforeAll(async () => {
    f = await startConsoleFixture('web_security')
    base = await f.serve()
    page = await f.browser.newPage()
    await copyFile(join(EXAMPLES, 'example.csv'), join(f.inputDir, 'example.csv'))
    await pollUntil('example.csv applied', async () => (await f.level(5, 12)) === 800)
  })
  afterAll(async () => {
    await f?.close()
  })

  it('refuses a form whose CSRF token is forged or missing', async () => {
    await page.goto(`${base}/items/5/12`)
    await page.$eval('form[action$="/threshold"] input[name=_csrf]', (el) => {
      ;(el as unknown as { value: string }).value = 'forged'
    })
    await page.fill('#threshold', '1')
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/threshold')),
      page.click('button:has-text("Save threshold")'),
    ])
    expect(response.status()).toBe(403)
    expect(await page.textContent('.error-message')).toContain('This form has expired')
    const bare = await page.request.post(`${base}/items/5/12/threshold`, { form: { threshold: '2' } })
    expect(bare.status()).toBe(403)
    expect(await f.ctx.sql`select * from stock_thresholds`).toEqual([])
    expect(await f.ctx.sql`select * from threshold_changes`).toEqual([])
  })

  it('refuses an upload larger than the importer takes, writing nothing, instead of a cut-short file', async () => {
    const file = join(EXAMPLES, 'example.csv')
    const size = (await stat(file)).size
    const small = await f.serve({ IMPORT_MAX_FILE_BYTES: String(size - 1) })
    const p = await f.browser.newPage()
    await p.goto(`${small}/imports`)
    await p.setInputFiles('#upload-file', file)
    const [res] = await Promise.all([
      p.waitForResponse((r) => r.url().endsWith('/imports/upload')),
      p.click('button:has-text("Upload and import")'),
    ])
    expect(res.status()).toBe(400)
    expect(await p.textContent('.error-message')).toBe(
      `the file is larger than the importer accepts (${size - 1} bytes)`,
    )
    const uploads = await readdir(join(f.inputDir, 'uploads')).catch(() => [] as string[])
    expect(uploads.filter((n) => n.startsWith('example'))).toEqual([])
    await p.close()
  })

  it('answers only to its own host names and takes forms only from itself', async () => {
    const { port } = new URL(base)
    const rebound = await rawRequest(Number(port), 'GET', '/stock', { host: `rebound.evil.example:${port}` })
    expect(rebound.status).toBe(403)
    expect(rebound.body).toContain('This console does not answer to')
    const attempts: Record<string, string>[] = [
      { 'sec-fetch-site': 'cross-site' },
      { origin: 'http://evil.example' },
    ]
    for (const from of attempts) {
      const crossSite = await rawRequest(
        Number(port),
        'POST',
        '/items/5/12/threshold',
        {
          host: `127.0.0.1:${port}`,
          'content-type': 'application/x-www-form-urlencoded',
          ...from,
        },
        'threshold=1',
      )
      expect(crossSite.status).toBe(403)
      expect(crossSite.body).toContain('A form may only be sent from this console itself.')
    }
  })

  it('refuses to bind beyond loopback without a password, or with one on plain http', () => {
    expect(() => loadConfig({ ...f.ctx.env, WEB_HOST: '0.0.0.0' })).toThrow(
      /WEB_PASSWORD is required when WEB_HOST \(0\.0\.0\.0\) is not a loopback address/,
    )
    expect(() =>
      loadConfig({ ...f.ctx.env, WEB_HOST: '0.0.0.0', WEB_PASSWORD: 'correct horse battery' }),
    ).toThrow(
      /WEB_PASSWORD on plain http at WEB_HOST 0\.0\.0\.0 .* Set WEB_TLS_CERT and WEB_TLS_KEY .* or WEB_TRUST_PROXY/,
    )
  })

  it('asks for the password on loopback over plain http, with a session cookie that is not Secure', async () => {
    const guarded = await f.serve({ WEB_PASSWORD: 'correct horse battery', WEB_LOGIN_PER_MINUTE: '3' })
    const context = await f.browser.newContext()
    const p = await context.newPage()
    await p.goto(`${guarded}/stock?store=5`)
    await p.waitForURL(`${guarded}/login?next=%2Fstock%3Fstore%3D5`)
    await screenshot(p, 'login')
    await p.fill('#login-name', 'Ann')
    await p.fill('#login-password', 'wrong')
    const [refused] = await Promise.all([
      p.waitForResponse((r) => r.url().endsWith('/login') && r.request().method() === 'POST'),
      p.click('button:has-text("Sign in")'),
    ])
    expect(refused.status()).toBe(401)
    expect(await p.textContent('.flash-error')).toBe('That password is not right.')
    expect((await context.request.get(`${guarded}/stock`, { maxRedirects: 0 })).status()).toBe(302)

    await p.fill('#login-password', 'correct horse battery')
    await p.click('button:has-text("Sign in")')
    await p.waitForURL(`${guarded}/stock?store=5`)
    expect(await p.textContent('.logout strong')).toBe('Ann')
    const [session] = (await context.cookies()).filter((c) => c.name === 'stockflow_session')
    expect(session).toMatchObject({ secure: false, httpOnly: true, sameSite: 'Strict' })
    await context.close()
  })

  it('serves https with WEB_TLS_CERT and WEB_TLS_KEY, and the session cookie is Secure', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stockflow-tls-'))
    const cert = join(dir, 'web.crt')
    const key = join(dir, 'web.key')
    // A self-signed certificate for 127.0.0.1, made for this test with openssl.
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    )
    const secured = await f.serve({
      WEB_PASSWORD: 'correct horse battery',
      WEB_TLS_CERT: cert,
      WEB_TLS_KEY: key,
    })
    expect(secured).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    const context = await f.browser.newContext({ ignoreHTTPSErrors: true })
    const p = await context.newPage()
    await p.goto(`${secured}/stock`)
    await p.waitForURL(`${secured}/login?next=%2Fstock`)
    await p.fill('#login-name', 'Ann')
    await p.fill('#login-password', 'correct horse battery')
    await p.click('button:has-text("Sign in")')
    await p.waitForURL(`${secured}/stock`)
    expect(await p.textContent('.logout strong')).toBe('Ann')
    const [session] = (await context.cookies()).filter((c) => c.name === 'stockflow_session')
    expect(session).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Strict' })
    await context.close()
  })

  it('counts refused passwords against an address, not forms that fail their CSRF check', async () => {
    const guarded = await f.serve({ WEB_PASSWORD: 'correct horse battery' })
    // Ten forged posts from the address everyone here shares (127.0.0.1): refused, and not counted.
    const mallory = await f.browser.newContext()
    const m = await mallory.newPage()
    await m.goto(`${guarded}/login`)
    for (let i = 0; i < 10; i++) {
      const forged = await m.request.post(`${guarded}/login`, {
        form: { _csrf: 'forged', name: 'Mallory', password: 'guess' },
        maxRedirects: 0,
      })
      expect(forged.status()).toBe(403)
    }
    const ann = await f.browser.newContext()
    const p = await ann.newPage()
    await p.goto(`${guarded}/login`)
    await p.fill('#login-name', 'Ann')
    await p.fill('#login-password', 'correct horse battery')
    await p.click('button:has-text("Sign in")')
    await p.waitForURL(`${guarded}/stock`)
    expect(await p.textContent('.logout strong')).toBe('Ann')

    // Five wrong passwords a minute (WEB_LOGIN_PER_MINUTE) are looked at; after them, not even the right one.
    const attempt = async (password: string) => {
      await m.goto(`${guarded}/login`)
      await m.fill('#login-name', 'Mallory')
      await m.fill('#login-password', password)
      const [res] = await Promise.all([
        m.waitForResponse((r) => r.url().endsWith('/login') && r.request().method() === 'POST'),
        m.click('button:has-text("Sign in")'),
      ])
      return res.status()
    }
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) statuses.push(await attempt('guess'))
    expect(statuses).toEqual([401, 401, 401, 401, 401])
    expect(await attempt('correct horse battery')).toBe(429)
    expect(await m.textContent('.error-message')).toBe('Too many attempts. Wait a minute and try again.')
    await mallory.close()
    await ann.close()
  })
  it('ends the session on the server at sign-out: a copy of the cookie kept from before no longer works', async () => {
    const guarded = await f.serve({ WEB_PASSWORD: 'correct horse battery' })
    const context = await f.browser.newContext()
    const p = await context.newPage()
    const live = async () =>
      (await f.ctx.sql`select id, user_name from live_web_sessions order by created_at`).map(
        (r) => `${r.id} ${r.user_name}`,
      )
    const before = await live()
    await p.goto(`${guarded}/login`)
    // Markup and a right-to-left override in the name are taken out before it reaches the audit.
    await p.fill('#login-name', '<b>Ann</b>\u202e')
    await p.fill('#login-password', 'correct horse battery')
    await p.click('button:has-text("Sign in")')
    await p.waitForURL(`${guarded}/stock`)
    expect(await p.textContent('.logout strong')).toBe('Ann')
    const kept = (await context.cookies()).filter((c) => c.name === 'stockflow_session')
    expect(kept).toHaveLength(1)
    const during = await live()
    expect(during.slice(0, before.length)).toEqual(before)
    expect(during.slice(before.length).map((s) => s.split(' ')[1])).toEqual(['Ann'])

    await p.click('button:has-text("Sign out")')
    await p.waitForURL(`${guarded}/login`)
    expect(await live()).toEqual(before)

    const replay = await f.browser.newContext()
    await replay.addCookies(kept)
    const res = await replay.request.get(`${guarded}/stock`, { maxRedirects: 0 })
    expect(res.status()).toBe(302)
    expect(res.headers().location).toBe('/login?next=%2Fstock')
    await replay.close()
    await context.close()
  })

  it("refuses an audit row the console's role could forge, and records that role", async () => {
    const web = f.webSql
    // Another door's actor, an item never booked, a re-drive preview or send that claims a count.
    expect(await sqlstateOf(web`select set_item_threshold(5, 12, 3, 'cli:root')`)).toBe('42501')
    expect(await sqlstateOf(web`select set_item_threshold(5, 99999, 3, 'web:Ann@127.0.0.1')`)).toBe('22023')
    const filter = web.json({ code: 'INSUFFICIENT_STOCK' })
    expect(
      await sqlstateOf(web`select record_redrive(${filter}, true, 123456, 'web:Ann@127.0.0.1', null)`),
    ).toBe('22023')
    expect(await sqlstateOf(web`select record_redrive(${filter}, false, 123456, 'cli:ops', null)`)).toBe(
      '42501',
    )
    expect(
      await sqlstateOf(web`select record_redrive(${filter}, false, 123456, 'web:Ann@127.0.0.1', null)`),
    ).toBe('22023')
    expect(await f.ctx.sql`select count(*)::int as n from redrives`).toEqual([{ n: 0 }])
    // A send it starts can only end as what it can have been: sent, failed or changed, with a true count.
    const [run] = await web`select record_redrive(${filter}, false, 0, 'web:Ann@127.0.0.1', null) as id`
    expect(await sqlstateOf(web`select finish_redrive(${run!.id}, 'dry_run', 0, null)`)).toBe('22023')
    expect(await sqlstateOf(web`select finish_redrive(${run!.id}, 'sent', null, null)`)).toBe('22023')
    expect(await sqlstateOf(web`select finish_redrive(${run!.id}, 'changed', 3, null)`)).toBe('22023')
    expect(await sqlstateOf(web`select finish_redrive(${run!.id}, 'sent', 123456, null)`)).toBe('22023')
    expect(await sqlstateOf(f.ctx.sql`select finish_redrive(${run!.id}, 'failed', 0, 'x')`)).toBe('42501')
    expect(await sqlstateOf(web`select finish_redrive(${run!.id}, 'failed', 0, 'nothing was sent')`)).toBe(
      'ok',
    )
    expect(await f.ctx.sql`select status, count, db_role from redrive_audit`).toEqual([
      { status: 'failed', count: 0, db_role: 'stockflow_web' },
    ])
    // What it may record carries its role, whatever name it gives.
    expect(await web`select set_item_threshold(5, 12, 3, 'web:Ann@127.0.0.1') as state`).toEqual([
      { state: 'OK' },
    ])
    expect(await f.ctx.sql`select actor, db_role from threshold_audit`).toEqual([
      { actor: 'web:Ann@127.0.0.1', db_role: 'stockflow_web' },
    ])
    await f.ctx.sql`select set_item_threshold(5, 12, null, 'cli:test')`
  })

  it('refuses what an attack on the audit found: direct writes, look-alike actors, claims outside a filter', async () => {
    const web = f.webSql
    const owner = f.ctx.sql
    /** Statements run as stockflow_app (the processor's, importer's and CLI's role). */
    const asApp = (run: (tx: typeof owner) => Promise<unknown>) => sqlstateAs(owner, 'stockflow_app', run)
    // The app role writes audit rows only through the functions, which check the actor.
    expect(
      await asApp(
        (tx) => tx`insert into redrives (filter, dry_run, count, actor, status, db_role)
                   values ('{}', false, 999999, 'web:alice@10.0.0.7', 'sent', 'stockflow_web')`,
      ),
    ).toBe('42501')
    expect(await asApp((tx) => tx`update file_reverts set actor = 'web:bob@1.2.3.4'`)).toBe('42501')
    // Actors that read like the console's door, or hide a character, are refused for either role.
    for (const actor of [' web:alice', '\u200Bweb:alice', 'WEB:alice', 'w\u0435b:alice', 'cli:\u202Etoor'])
      expect(await asApp((tx) => tx`select set_item_threshold(5, 12, 3, ${actor})`)).toBe('22023')
    expect(await sqlstateOf(web`select set_item_threshold(5, 12, 3, ${'web:\u202Eeciffo@1.2.3.4'})`)).toBe(
      '22023',
    )
    // Item names: the same hidden set as the importer's, and text only.
    for (const name of ['\u3164Mug', 'Mug\uFE0F', { '<script>': 1 }, '\u2800\u2800'])
      expect(
        await asApp(
          (tx) =>
            tx`select load_item_master(${tx.json([{ item_number: 77, name }] as never)}, 'file:items.csv')`,
        ),
      ).toBe('22023')
    // The console's role no longer loads item files: the importer does, as the app role.
    expect(await sqlstateOf(web`select load_item_master('[]', 'web:Ann@127.0.0.1')`)).toBe('42501')
    expect(await sqlstateOf(web`select open_web_session(${'<b>x</b>'}, '127.0.0.1', 60)`)).toBe('22023')
    expect(await sqlstateOf(web`select open_web_session(${'Ann\u202E'}, '127.0.0.1', 60)`)).toBe('22023')
    // A filter with a null or unknown key was counted as no filter, and shown as a narrower one; a value of
    // another type was recorded as it came.
    for (const filter of [
      { store: null },
      { stor: 999, note: 'only store 999' },
      { store: ' 1' },
      { code: { a: 1 } },
    ])
      expect(
        await sqlstateOf(web`select record_redrive(${web.json(filter)}, true, 0, 'web:Ann@127.0.0.1', null)`),
      ).toBe('22023')
    const [preview] =
      await web`select record_redrive(${web.json({ store: 999 })}, true, 0, 'web:Ann@127.0.0.1', null) as id`
    expect(
      await sqlstateOf(
        web`select record_redrive(${web.json({ store: 999 })}, true, 0, 'web:Ann@127.0.0.1', ${preview!.id})`,
      ),
    ).toBe('22023')
    // A send for store 999, where nothing failed, cannot claim a movement of store 1 that failed meanwhile.
    const [run] =
      await web`select record_redrive(${web.json({ store: 999 })}, false, 0, 'web:Ann@127.0.0.1', ${preview!.id}) as id`
    await owner`
      insert into failed_movements (transaction_id, event_type, occurred_at, store_number, item_number, quantity,
                                    code, error_id, attempts, attempted_at)
      values ('d0000000-0000-4000-8000-000000000001', 'sale', now(), 1, 1, 5, 'INSUFFICIENT_STOCK', 'e', 1, '{}')`
    expect(await sqlstateOf(web`select finish_redrive(${run!.id}, 'sent', 1, null)`)).toBe('22023')
    expect(await sqlstateOf(web`select finish_redrive(${run!.id}, 'failed', 0, ${'x'.repeat(5000)})`)).toBe(
      'ok',
    )
    expect(await owner`select length(error)::int as n from redrives where id = ${run!.id}`).toEqual([
      { n: 2000 },
    ])
    await owner`delete from failed_movements where transaction_id = 'd0000000-0000-4000-8000-000000000001'`
  })
})
