// The web console in a real browser (Debian's chromium through playwright-core), against the real stack:
// a real importer and processor in-process, Kafka, the registry, and Postgres read as stockflow_web.
import { copyFile, mkdtemp, readdir, readFile, stat } from 'node:fs/promises'
import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Admin } from 'kafkajs'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { loadConfig } from '../lib/config.ts'
import { createSql, type Sql } from '../lib/db.ts'
import { createKafka } from '../lib/kafka.ts'
import { createRedriveSender } from '../ops/redrive-movements.ts'
import { consumerLag } from '../ops/stats.ts'
import type { Processor } from '../processor/processor.ts'
import { createWebServer } from '../web/server.ts'
import { launchBrowser, screenshot, unlabelledFields } from './support/browser.ts'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { type RunningImporter, startImporter } from './support/importer.ts'
import { encoders } from './support/kafka.ts'
import { movement, produceMovements, startProcessor } from './support/processor.ts'

const EXAMPLES = join(import.meta.dirname, '..', 'examples')

/** A request with exactly these headers (fetch will not send another Host), for what browsers cannot do. */
function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => {
        body += d
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end(method === 'POST' ? 'threshold=1' : undefined)
  })
}

describe('web console', () => {
  let ctx: TestContext
  let inputDir: string
  let importer: RunningImporter
  let processor: Processor
  let webSql: Sql
  let admin: Admin
  let browser: Browser
  let page: Page
  const servers: FastifyInstance[] = []
  let base: string

  const level = async (store: number, item: number) =>
    (
      await ctx.sql`select quantity from stock_levels where store_number = ${store} and item_number = ${item}`
    )[0]?.quantity as number | undefined

  async function serve(env: Record<string, string>): Promise<string> {
    const config = loadConfig({ ...ctx.env, INPUT_DIR: inputDir, ...env })
    const enc = await encoders(ctx)
    const app = await createWebServer({
      sql: webSql,
      log: ctx.log,
      clock: Date.now,
      config,
      redriveSend: createRedriveSender({
        producer: importer.producer,
        encoder: enc.movements,
        topic: config.topics.events,
      }),
      pipeline: {
        lag: () => consumerLag(admin, config, new Map()),
        readiness: async () => [{ service: 'processor', url: 'in-process', ready: true, detail: 'ready' }],
      },
    })
    await app.listen({ host: '127.0.0.1', port: 0 })
    servers.push(app)
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  }

  beforeAll(async () => {
    inputDir = await mkdtemp(join(tmpdir(), 'stockflow-web-'))
    ctx = await createTestContext('web', {
      INPUT_DIR: inputDir,
      IMPORT_SETTLE_MS: '100',
      PROCESS_MAX_ATTEMPTS: '1',
      OUTBOX_POLL_MS: '50',
    })
    importer = await startImporter(ctx)
    processor = await startProcessor(ctx, importer.producer)
    // The console's own read-only role, as `npm start` runs it.
    const webUrl = inject('webDatabaseUrl')
    webSql = createSql({
      url: webUrl ?? ctx.config.db.url,
      schema: ctx.config.db.schema,
      max: 3,
      name: 'test-web',
      settings: webUrl ? {} : { role: 'stockflow_web' },
    })
    admin = createKafka(ctx.config.kafka, ctx.log, 'test-web').admin()
    await admin.connect()
    base = await serve({})
    browser = await launchBrowser()
    page = await browser.newPage({ acceptDownloads: true })
  })

  afterAll(async () => {
    await browser?.close()
    for (const s of servers) await s.close()
    await admin?.disconnect()
    await webSql?.end({ timeout: 5 })
    await processor?.stop()
    await importer?.stop()
    await ctx?.close()
  })

  it('reads as stockflow_web, which can select views but write nothing directly', async () => {
    const [who] = await webSql`select current_user as name`
    expect(who?.name).toBe('stockflow_web')
    await expect(webSql`select count(*) from stock_levels`).rejects.toMatchObject({ code: '42501' })
    await expect(webSql`insert into stock_thresholds values (1, 1, 1)`).rejects.toMatchObject({
      code: '42501',
    })
    await expect(webSql`select count(*)::int as n from stock_overview`).resolves.toEqual([{ n: 0 }])
  })

  it('shows a dropped example file in Imports, and its stock in a search', async () => {
    await copyFile(join(EXAMPLES, 'example.csv'), join(inputDir, 'example.csv'))
    await pollUntil('example.csv applied', async () => (await level(5, 12)) === 800)
    await page.goto(`${base}/imports`)
    const row = page.locator('tbody tr', { hasText: 'example.csv' })
    await expect(row.locator('td').allInnerTexts()).resolves.toEqual([
      expect.any(String),
      'example.csv',
      'processed',
      '9',
      '9',
      '0',
      expect.stringMatching(/^\d[\d,]* ms$/),
      expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/),
    ])
    await screenshot(page, 'imports')

    await page.goto(`${base}/stock`)
    await page.fill('#f-store', '5')
    await page.fill('#f-item', '12')
    await page.click('button:has-text("Search")')
    await page.waitForURL(/\/stock\?store=5&item=12/)
    const cells = await page.locator('tbody tr').first().locator('td').allInnerTexts()
    expect(cells.slice(0, 4)).toEqual(['5', '12', '800', 'OK'])
    expect(await page.locator('tbody tr').count()).toBe(1)
    // A page past the end (an old shared link) shows the last page, not an empty table.
    await page.goto(`${base}/stock?store=5&item=12&page=9`)
    expect((await page.locator('tbody tr').first().locator('td').allInnerTexts()).slice(0, 3)).toEqual([
      '5',
      '12',
      '800',
    ])

    await page.goto(`${base}/stock?store=5-8&sort=quantity&dir=desc`)
    const stores = await page.locator('tbody tr td:first-child').allInnerTexts()
    const expected = await ctx.sql`
      select store_number from stock_levels where store_number between 5 and 8 and last_transaction_id is not null
      order by quantity desc, store_number desc, item_number desc`
    expect(stores).toEqual(expected.map((r) => String(r.store_number)))
    expect(await page.getAttribute('th:has-text("Quantity")', 'aria-sort')).toBe('descending')
    await screenshot(page, 'stock')
  })

  it('opens an item with its chart, its history and an audited threshold', async () => {
    await page.goto(`${base}/stock?store=5&item=12`)
    await page.click('a:text-is("12")')
    await page.waitForURL(`${base}/items/5/12`)
    expect(await page.textContent('.level')).toBe('800')
    expect(await page.getAttribute('svg.chart path.line', 'd')).toMatch(
      /^M48 \d+(\.\d)? H\d+(\.\d)? V8 H632$/,
    )
    const journal = await ctx.sql`
      select source_file, source_line from stock_journal where store_number = 5 and item_number = 12
      order by applied_at desc, partition desc, "offset" desc`
    const sources = await page.locator('#history tbody tr td:nth-child(5)').allInnerTexts()
    expect(sources).toEqual(journal.map((j) => `${j.source_file}:${j.source_line}`))
    expect(sources).toHaveLength(2)

    await page.fill('#threshold', '900')
    await page.click('button:has-text("Save threshold")')
    await page.waitForURL(`${base}/items/5/12`)
    expect(await page.textContent('.flash-ok')).toContain('set to 900')
    expect(await ctx.sql`select old_threshold, new_threshold, actor from threshold_changes`).toEqual([
      { old_threshold: null, new_threshold: 900, actor: 'web:local@127.0.0.1' },
    ])
    expect(
      await ctx.sql`select threshold from stock_thresholds where store_number = 5 and item_number = 12`,
    ).toEqual([{ threshold: 900 }])
    await screenshot(page, 'item')
  })

  it('uploads a file with bad rows through the importer, and downloads its rejected rows', async () => {
    await page.goto(`${base}/imports`)
    await page.setInputFiles('#upload-file', join(EXAMPLES, 'mistakes.csv'))
    await page.click('button:has-text("Upload and import")')
    await page.waitForURL(`${base}/imports`)
    expect(await page.textContent('.flash-ok')).toContain('Uploaded as uploads/mistakes.csv')
    const [outcome] = await pollUntil('the upload imported', async () => {
      const rows = await ctx.sql`
        select id, rows_read, rows_accepted, rows_rejected from import_outcomes where file_name = 'uploads/mistakes.csv'`
      return rows.length > 0 ? rows : undefined
    })
    expect(outcome).toMatchObject({ rows_read: 12, rows_rejected: 9, rows_accepted: 3 })

    await page.goto(`${base}/imports/${outcome!.id}`)
    expect(await page.locator('#rejected tbody tr').count()).toBe(9)
    const errors = await page.locator('#rejected tbody td.error-cell').allInnerTexts()
    expect(errors.map((e) => e.split(':')[0])).toEqual([
      'INVALID_UUID',
      'UNKNOWN_EVENT_TYPE',
      'INVALID_DATE',
      'INVALID_QUANTITY',
      'INVALID_QUANTITY',
      'BLANK_FIELD',
      'DUPLICATE_IN_FILE',
      'INVALID_QUANTITY',
      'FIELD_COUNT',
    ])
    await screenshot(page, 'import')
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-rejected')])
    expect(download.suggestedFilename()).toBe('mistakes.csv.rejected.csv')
    const onDisk = await readFile(join(inputDir, 'processed', 'uploads', 'mistakes.csv.rejected.csv'), 'utf8')
    expect(await readFile(await download.path(), 'utf8')).toBe(onDisk)
  })

  it('re-drives a failed sale from the Errors page once its stock is booked', async () => {
    const enc = await encoders(ctx)
    const sale = movement('sale', 40, 1, 3)
    await produceMovements(importer.producer, ctx.config.topics.events, enc.movements, [sale])
    await pollUntil(
      'the sale failed',
      async () =>
        (await ctx.sql`select 1 from failed_movements where transaction_id = ${sale.transaction_id}`)
          .length === 1,
    )
    await produceMovements(importer.producer, ctx.config.topics.events, enc.movements, [
      movement('incoming', 40, 1, 10),
    ])
    await pollUntil('stock booked', async () => (await level(40, 1)) === 10)

    await page.goto(`${base}/errors`)
    await page.fill('#e-store', '40')
    await page.click('button:has-text("Filter")')
    await page.waitForURL(/\/errors\?.*store=40/)
    expect(await page.locator('tbody tr td.mono').allInnerTexts()).toEqual([sale.transaction_id])
    await screenshot(page, 'errors')
    await page.click('button:has-text("Preview the re-drive")')
    expect(await page.locator('#preview tbody tr td.mono').allInnerTexts()).toEqual([sale.transaction_id])
    expect(await level(40, 1)).toBe(10) // a preview sends nothing
    await screenshot(page, 'redrive-preview')
    // The confirmation form, as the browser is about to send it.
    const confirmation = Object.fromEntries(
      await page.$$eval('form[action="/errors/redrive"] input[type=hidden]', (els) =>
        (els as unknown as { name: string; value: string }[]).map((e) => [e.name, e.value]),
      ),
    )
    await page.click('button:has-text("Re-drive these 1 movement(s)")')
    expect(await page.textContent('.flash-ok')).toMatch(/^Re-drove 1 movement\(s\) \(re-drive #\d+\)/)
    await pollUntil('the sale applied', async () => (await level(40, 1)) === 7)
    const audit =
      await ctx.sql`select id, filter, dry_run, count, actor, status, preview_id from redrives order by id`
    expect(audit).toEqual([
      {
        id: expect.any(Number),
        filter: { store: 40 },
        dry_run: true,
        count: 1,
        actor: 'web:local@127.0.0.1',
        status: 'dry_run',
        preview_id: null,
      },
      {
        id: expect.any(Number),
        filter: { store: 40 },
        dry_run: false,
        count: 1,
        actor: 'web:local@127.0.0.1',
        status: 'sent',
        preview_id: audit[0]!.id,
      },
    ])
    // The same confirmation again (a double click, a resubmitted page): refused, nothing sent or recorded.
    const replay = await page.request.post(`${base}/errors/redrive`, { form: confirmation })
    expect(replay.status()).toBe(400)
    expect(await replay.text()).toContain('this preview was already confirmed')
    expect(await ctx.sql`select count(*)::int as n from redrives`).toEqual([{ n: 2 }])
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
    expect(
      await ctx.sql`select threshold from stock_thresholds where store_number = 5 and item_number = 12`,
    ).toEqual([{ threshold: 900 }])
  })

  it('refuses an upload larger than the importer takes, writing nothing, instead of a cut-short file', async () => {
    const file = join(EXAMPLES, 'example.csv')
    const size = (await stat(file)).size
    const small = await serve({ IMPORT_MAX_FILE_BYTES: String(size - 1) })
    const p = await browser.newPage()
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
    expect((await readdir(join(inputDir, 'uploads'))).filter((n) => n.startsWith('example'))).toEqual([])
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
      const crossSite = await rawRequest(Number(port), 'POST', '/items/5/12/threshold', {
        host: `127.0.0.1:${port}`,
        'content-type': 'application/x-www-form-urlencoded',
        ...from,
      })
      expect(crossSite.status).toBe(403)
      expect(crossSite.body).toContain('A form may only be sent from this console itself.')
    }
  })

  it('shows alerts and the pipeline: lag per partition, parked sales, throughput', async () => {
    await page.goto(`${base}/alerts`)
    await screenshot(page, 'alerts')
    await page.goto(`${base}/pipeline`)
    const [parked] = await ctx.sql`select count(*)::int as n from parked_sales`
    expect(await page.textContent('#parked-count')).toBe(String(parked!.n))
    const [applied] = await ctx.sql`
      select count(*)::int as n from stock_journal where applied_at > now() - interval '15 minutes'`
    expect(await page.textContent('#applied-count')).toBe(applied!.n.toLocaleString('en-US'))
    const lagRows = await page.locator('tbody tr', { hasText: ctx.config.topics.events }).count()
    expect(lagRows).toBe(3) // one per partition of the suite's events topic
    expect(await page.locator('svg.chart rect.bar').count()).toBe(15)
    await screenshot(page, 'pipeline')
  })

  it('is usable from the keyboard, and every form field has a label', async () => {
    const [imp] = await ctx.sql`select id from import_outcomes order by id limit 1`
    for (const path of [
      '/stock',
      '/items/5/12',
      '/imports',
      `/imports/${imp!.id}`,
      '/errors',
      '/alerts',
      '/pipeline',
    ]) {
      await page.goto(`${base}${path}`)
      expect({ path, unlabelled: await unlabelledFields(page) }).toEqual({ path, unlabelled: [] })
      await page.keyboard.press('Tab')
      expect(await page.evaluate('document.activeElement.textContent')).toBe('Skip to content')
      await page.keyboard.press('Enter')
      expect(await page.evaluate('document.activeElement.id')).toBe('main')
    }
    // A search without the mouse: "/" focuses it, Tab moves on, Enter submits.
    await page.goto(`${base}/stock`)
    await page.keyboard.press('/')
    await page.keyboard.type('5')
    await page.keyboard.press('Tab')
    await page.keyboard.type('12')
    await page.keyboard.press('Enter')
    await page.waitForURL(/\/stock\?store=5&item=12/)
    expect(await page.locator('tbody tr').count()).toBe(1)
  })

  it('refuses to bind beyond loopback without a password, and asks for it when one is set', async () => {
    expect(() => loadConfig({ ...ctx.env, WEB_HOST: '0.0.0.0' })).toThrow(
      /WEB_PASSWORD is required when WEB_HOST \(0\.0\.0\.0\) is not a loopback address/,
    )
    const guarded = await serve({ WEB_PASSWORD: 'correct horse battery', WEB_LOGIN_PER_MINUTE: '3' })
    const context = await browser.newContext()
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

    // Three attempts a minute from one address: the third is still looked at, the fourth is not.
    const again = await browser.newContext()
    const q = await again.newPage()
    const attempt = async () => {
      await q.goto(`${guarded}/login`)
      await q.fill('#login-name', 'Mallory')
      await q.fill('#login-password', 'guess')
      const [res] = await Promise.all([
        q.waitForResponse((r) => r.url().endsWith('/login') && r.request().method() === 'POST'),
        q.click('button:has-text("Sign in")'),
      ])
      return res.status()
    }
    expect(await attempt()).toBe(401)
    expect(await attempt()).toBe(429)
    expect(await q.textContent('.error-message')).toBe('Too many attempts. Wait a minute and try again.')
    await context.close()
    await again.close()
  })
})
