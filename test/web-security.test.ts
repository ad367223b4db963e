// What the web console refuses, in a real browser against the real stack: forged or missing CSRF tokens,
// uploads larger than the importer takes, foreign host names and cross-site forms, and, with a password,
// anyone who has not signed in (with a limit on attempts). Binding beyond loopback needs that password.
import { copyFile, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../lib/config.ts'
import { screenshot } from './support/browser.ts'
import { type ConsoleFixture, EXAMPLES, rawRequest, startConsoleFixture } from './support/console.ts'
import { pollUntil } from './support/context.ts'

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

  it('refuses to bind beyond loopback without a password, and asks for it when one is set', async () => {
    expect(() => loadConfig({ ...f.ctx.env, WEB_HOST: '0.0.0.0' })).toThrow(
      /WEB_PASSWORD is required when WEB_HOST \(0\.0\.0\.0\) is not a loopback address/,
    )
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

    // Three attempts a minute from one address: the third is still looked at, the fourth is not.
    const again = await f.browser.newContext()
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
