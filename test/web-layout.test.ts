// The console at a phone's width (390 px) and a laptop's (1,280 px), in Chromium against the real stack:
// no page is wider than the screen, whatever the data (long file names, transaction ids, wide tables),
// file names that reorder themselves are written out, and item names from the master show beside numbers.
import { copyFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { screenshot } from './support/browser.ts'
import { type ConsoleFixture, EXAMPLES, startConsoleFixture } from './support/console.ts'
import { pollUntil } from './support/context.ts'

// Shown as written, this name reads "stock-march-vsc.png" to a person: the override turns "gnp.csv" around.
const SPOOFED = 'stock-march-\u202egnp.csv'
const LONG = `${'warehouse-north-'.repeat(8)}delivery.csv`

describe('web console layout', () => {
  let f: ConsoleFixture
  let base: string
  let pages: string[]

  beforeAll(async () => {
    f = await startConsoleFixture('web_layout')
    base = await f.serve()
    await copyFile(join(EXAMPLES, 'example.csv'), join(f.inputDir, 'example.csv'))
    await copyFile(join(EXAMPLES, 'mistakes.csv'), join(f.inputDir, LONG))
    await writeFile(
      join(f.inputDir, SPOOFED),
      'transaction_id,event_type,date,store_number,item_number,value\n' +
        '6f1c1e0a-0000-4000-8000-000000000001,incoming,2024-03-02T08:00:00Z,9,41,7\n' +
        '6f1c1e0a-0000-4000-8000-000000000002,sale,2024-03-02T09:00:00Z,9,42,3\n',
    )
    await pollUntil('three files imported', async () => {
      const [r] = await f.ctx.sql`select count(*)::int as n from import_outcomes`
      return r?.n === 3
    })
    await pollUntil('example.csv applied', async () => (await f.level(5, 12)) === 800)
    await pollUntil('the early sale failed', async () => {
      const [r] = await f.ctx.sql`select count(*)::int as n from failed_movements where item_number = 42`
      return r?.n === 1
    })
    await f.ctx.sql`select load_item_master(${f.ctx.sql.json([
      { item_number: 12, name: 'Blue enamel mug', unit: 'pcs' },
      { item_number: 41, name: 'Oak cutting board', unit: null },
    ] as never)}, 'file:layout-test.csv')`
    const imports = await f.ctx.sql`select id from import_outcomes order by id`
    pages = [
      '/stock',
      '/items/5/12',
      '/items/9/42',
      '/imports',
      ...imports.map((r) => `/imports/${r.id}`),
      '/errors',
      '/alerts',
      '/pipeline',
    ]
  })
  afterAll(async () => {
    await f?.close()
  })

  const widthOf = (page: Page) => page.evaluate('document.documentElement.scrollWidth') as Promise<number>

  it('fits every page into 390 px, tables scrolling in their own box', async () => {
    const context = await f.browser.newContext({ viewport: { width: 390, height: 844 } })
    const page = await context.newPage()
    const wide: { path: string; width: number }[] = []
    for (const path of pages) {
      const res = await page.goto(`${base}${path}`)
      expect({ path, status: res?.status() }).toEqual({ path, status: 200 })
      const width = await widthOf(page)
      if (width > 390) wide.push({ path, width })
      await screenshot(page, `phone${path.replaceAll('/', '-')}`)
    }
    expect(wide).toEqual([])
    await context.close()
  })

  it('fits every page into 1,280 px, the Imports page with its long names included', async () => {
    const context = await f.browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    const wide: { path: string; width: number }[] = []
    for (const path of pages) {
      await page.goto(`${base}${path}`)
      const width = await widthOf(page)
      if (width > 1280) wide.push({ path, width })
    }
    expect(wide).toEqual([])
    await page.goto(`${base}/imports`)
    await screenshot(page, 'desktop-imports')
    await context.close()
  })

  it('writes out a file name that would reorder itself, on the Imports list and the file page', async () => {
    const page = await f.browser.newPage()
    await page.goto(`${base}/imports`)
    const link = page.locator('tbody tr td a', { hasText: 'stock-march-' })
    expect(await link.innerText()).toBe('stock-march-\\u{202E}gnp.csv')
    await link.click()
    expect(await page.locator('h1').innerText()).toBe('stock-march-\\u{202E}gnp.csv')
    expect(await page.content()).not.toContain('\u202e')
    // The sale that failed names its source file the same way on the Errors page, and the item by name.
    await page.goto(`${base}/errors?store=9`)
    expect(await page.locator('tbody tr').first().locator('td').allInnerTexts()).toEqual([
      expect.any(String),
      'UNKNOWN_ITEM',
      '9',
      '42',
      '3',
      '1',
      'stock-march-\\u{202E}gnp.csv:3',
      '6f1c1e0a-0000-4000-8000-000000000002',
    ])
    expect(await page.content()).not.toContain('\u202e')
    await page.close()
  })

  it('shows an item by its master name beside its number, and an unknown item by number', async () => {
    const page = await f.browser.newPage()
    await page.goto(`${base}/stock?store=5&item=12`)
    expect(await page.locator('tbody tr').first().innerText()).toContain('12 · Blue enamel mug')
    await page.goto(`${base}/items/5/12`)
    expect(await page.locator('h1').innerText()).toContain('Blue enamel mug')
    await page.goto(`${base}/errors`)
    expect(await page.locator('tbody tr', { hasText: '42' }).first().innerText()).not.toContain('·')
    await page.close()
  })
})
