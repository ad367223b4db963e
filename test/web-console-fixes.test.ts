// The console's fixes from issue #23, in a real browser against the real stack (as web-console.test.ts):
// rejected rows with their line and their code and reason in their own columns, a re-drive preview that
// foretells what fails again, alerts grouped into a screenful, the Pipeline page's file queue and time
// labels, and an Imports page that fits 1,280 px. Screenshots at 1,280 and 390 px wide.
import { mkdir, mkdtemp, readFile, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { screenshot } from './support/browser.ts'
import { type ConsoleFixture, startConsoleFixture } from './support/console.ts'
import { pollUntil } from './support/context.ts'
import { encoders } from './support/kafka.ts'
import { movement, produceMovements } from './support/processor.ts'

const HEADER = 'transaction_id,event_type,date,store_number,item_number,value'

/** The page at 1,280 px and at 390 px wide, then back to 1,280. */
async function screenshots(page: Page, name: string): Promise<void> {
  await page.setViewportSize({ width: 390, height: 844 })
  await screenshot(page, `${name}-390`)
  await page.setViewportSize({ width: 1280, height: 900 })
  await screenshot(page, `${name}-1280`)
}

const pageSize = (page: Page) =>
  page.evaluate('[document.documentElement.scrollWidth, document.documentElement.scrollHeight]') as Promise<
    [number, number]
  >

describe('web console fixes', () => {
  let f: ConsoleFixture
  let page: Page
  let base: string

  beforeAll(async () => {
    f = await startConsoleFixture('webfix')
    base = await f.serve()
    page = await f.browser.newPage({ viewport: { width: 1280, height: 900 } })
  })
  afterAll(async () => {
    await f?.close()
  })

  it('shows rejected rows with their line, unsplittable rows as one raw line, and guarded values as written', async () => {
    const rows = [
      'c0000000-0000-4000-8000-000000000001,incoming,2024-05-01T08:00:00Z,80,1,10',
      'c0000000-0000-4000-8000-000000000003,sale,2024-05-01T08:05:00Z,80,1,12" pipe',
      'c0000000-0000-4000-8000-000000000004,sale,2024-05-01T08:10:00Z,80,1',
      'c0000000-0000-4000-8000-000000000005,sale,2024-05-01T08:15:00Z,80,1,-3',
    ]
    await writeFile(join(f.inputDir, 'bad-rows.csv'), `${HEADER}\n${rows.join('\n')}\n`)
    const [outcome] = await pollUntil('bad-rows.csv imported', async () => {
      const found = await f.ctx.sql`
        select id, rows_read, rows_accepted, rows_rejected from import_outcomes where file_name = 'bad-rows.csv'`
      return found.length > 0 ? found : undefined
    })
    expect(outcome).toMatchObject({ rows_read: 4, rows_accepted: 1, rows_rejected: 3 })

    await page.goto(`${base}/imports/${outcome!.id}`)
    expect(await page.locator('#rejected thead th').allInnerTexts()).toEqual([
      'Line',
      'transaction_id',
      'event_type',
      'date',
      'store_number',
      'item_number',
      'value',
      'Code',
      'Reason',
    ])
    const cells = async (n: number) => page.locator('#rejected tbody tr').nth(n).locator('td').allInnerTexts()
    expect(await page.locator('#rejected tbody tr').count()).toBe(3)
    expect(await cells(0)).toEqual([
      '3',
      'c0000000-0000-4000-8000-000000000003,sale,2024-05-01T08:05:00Z,80,1,12" pipe',
      'MALFORMED_QUOTES',
      'Invalid Opening Quote: a quote is found on field 5 at line 1, value is "12"',
    ])
    expect(
      await page.locator('#rejected tbody tr').nth(0).locator('td.raw-line').getAttribute('colspan'),
    ).toBe('6')
    expect(await cells(1)).toEqual([
      '4',
      'c0000000-0000-4000-8000-000000000004,sale,2024-05-01T08:10:00Z,80,1',
      'FIELD_COUNT',
      'expected 6 fields, found 5',
    ])
    expect(await cells(2)).toEqual([
      '5',
      'c0000000-0000-4000-8000-000000000005',
      'sale',
      '2024-05-01T08:15:00Z',
      '80',
      '1',
      '-3',
      'INVALID_QUANTITY',
      "value '-3' is not a whole number from 1 to 2147483647",
    ])
    // The file people download keeps the guard a spreadsheet needs.
    const onDisk = await readFile(join(f.inputDir, 'processed', 'bad-rows.csv.rejected.csv'), 'utf8')
    expect(onDisk).toContain("c0000000-0000-4000-8000-000000000005,sale,2024-05-01T08:15:00Z,80,1,'-3,")
    await screenshots(page, 'fixes-rejected-rows')
  })

  it('previews a re-drive by store and item, foretelling which sales fail again, and sends it', async () => {
    const enc = await encoders(f.ctx)
    const topic = f.ctx.config.topics.events
    // Nothing was ever booked for store 90: every sale fails as UNKNOWN_ITEM.
    const sales = [
      movement('sale', 90, 1, 4),
      movement('sale', 90, 1, 4),
      movement('sale', 90, 2, 5),
      movement('sale', 90, 2, 5),
      movement('sale', 90, 3, 2),
      movement('sale', 90, 4, 3),
      movement('sale', 90, 4, 3),
    ]
    await produceMovements(f.importer.producer, topic, enc.movements, sales)
    await pollUntil('the sales failed', async () => {
      const [row] = await f.ctx.sql`select count(*)::int as n from failed_movements where store_number = 90`
      return row!.n === sales.length
    })
    // Then some stock is booked: enough for item 1, too little for item 2, one of two sales for item 4.
    await produceMovements(f.importer.producer, topic, enc.movements, [
      movement('incoming', 90, 1, 10),
      movement('incoming', 90, 2, 3),
      movement('incoming', 90, 4, 5),
    ])
    await pollUntil(
      'stock booked',
      async () =>
        (await f.level(90, 1)) === 10 && (await f.level(90, 2)) === 3 && (await f.level(90, 4)) === 5,
    )

    await page.goto(`${base}/errors?store=90`)
    await page.click('button:has-text("Preview the re-drive")')
    await page.waitForURL(`${base}/errors/redrive/preview`)
    expect(await page.textContent('[data-count="applies"]')).toBe('3')
    expect(await page.textContent('[data-count="fail-again"]')).toBe('4')
    // Those that need stock first lead; then the rest, by store and item.
    const groups = await page
      .locator('#preview-groups tbody tr')
      .evaluateAll((trs) =>
        (trs as unknown as { querySelectorAll(s: string): { textContent: string | null }[] }[]).map((tr) =>
          Array.from(tr.querySelectorAll('td'), (td) => (td.textContent ?? '').trim()),
        ),
      )
    expect(groups).toEqual([
      ['90', '2', '2', '10', '3', '2 (10)', '7'],
      ['90', '3', '1', '2', 'none booked', '1 (2)', '2'],
      ['90', '4', '2', '6', '5', '1 (3)', '1'],
      ['90', '1', '2', '8', '10', '0', '0'],
    ])
    // Item 4's two sales of 3 against a stock of 5: the first sent applies, the second fails again.
    const item4 = page.locator('#preview tbody tr', { has: page.locator('td:nth-child(4):text-is("4")') })
    expect(await item4.locator('td.outcome').allInnerTexts()).toEqual(['will apply', 'will fail again'])
    expect(await page.locator('#preview tbody tr td.outcome').count()).toBe(7)
    await screenshots(page, 'fixes-redrive-forecast')

    await page.click('button:has-text("Re-drive these 7 movement(s)")')
    expect(await page.textContent('.flash-ok')).toMatch(/^Re-drove 7 movement\(s\)/)
    // What the forecast said would apply did; the rest failed again and left the stock alone.
    await pollUntil(
      'the forecast came true',
      async () => (await f.level(90, 1)) === 2 && (await f.level(90, 4)) === 2,
    )
    expect(await f.level(90, 2)).toBe(3)
  })

  it('keeps the confirmation in reach at the end of a long preview', async () => {
    const enc = await encoders(f.ctx)
    const many = Array.from({ length: 300 }, (_, i) => movement('sale', 91, 1 + (i % 30), 1))
    await produceMovements(f.importer.producer, f.ctx.config.topics.events, enc.movements, many)
    await pollUntil('300 sales failed', async () => {
      const [row] = await f.ctx.sql`select count(*)::int as n from failed_movements where store_number = 91`
      return row!.n === many.length
    })
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: width === 390 ? 844 : 900 })
      await page.goto(`${base}/errors?store=91`)
      await page.click('button:has-text("Preview the re-drive")')
      await page.waitForURL(`${base}/errors/redrive/preview`)
      expect(await page.locator('#preview tbody tr').count()).toBe(300)
      const [, height] = await pageSize(page)
      expect(height).toBeGreaterThan(3000)
      await page.evaluate('window.scrollTo(0, document.documentElement.scrollHeight)')
      const box = await page.locator('#confirm button[type=submit]').boundingBox()
      const viewport = page.viewportSize()!
      expect(box).not.toBeNull()
      expect(box!.y).toBeGreaterThanOrEqual(0)
      expect(box!.y + box!.height).toBeLessThanOrEqual(viewport.height)
      expect(await page.textContent('#confirm button[type=submit]')).toBe('Re-drive these 300 movement(s)')
      await screenshot(page, `fixes-redrive-long-scrolled-${width}`)
    }
    await page.setViewportSize({ width: 1280, height: 900 })
  })

  it('groups a day of 161 alerts into a screenful, each saying where to act in the console', async () => {
    const [imp] = await f.ctx.sql`select id from import_outcomes where file_name = 'bad-rows.csv'`
    const day = Date.parse('2026-01-15T00:00:00Z')
    const alerts = [
      ...Array.from({ length: 150 }, (_, i) => ({
        key: `process:INSUFFICIENT_STOCK:92:${i + 1}`,
        text: `INSUFFICIENT_STOCK (store 92 item ${i + 1}): a sale stayed larger than the stock. Next: book the missing stock for store 92 item ${i + 1}, then run stockflow redrive --code INSUFFICIENT_STOCK --store 92 --item ${i + 1}`,
      })),
      { key: 'import:bad-rows.csv', text: '3 rows rejected from file bad-rows.csv' },
      ...Array.from({ length: 10 }, (_, i) => ({
        key: `import:gone-${i}.csv`,
        text: `1 row rejected from file gone-${i}.csv (INVALID_DATE)`,
      })),
    ]
    expect(alerts).toHaveLength(161)
    for (const [i, a] of alerts.entries()) {
      await f.ctx.sql`
        insert into alerts (alert_id, kind, alert_key, severity, text, source_ids, status, item_count, created_at,
                            sent_at, attempts)
        values (${`fix-${i}`}, 'error', ${a.key}, 'warning', ${a.text}, ${[`error:fix-${i}`]}, 'sent', 1,
                ${new Date(day + 3_600_000 + i * 60_000)}, ${new Date(day + 3_600_000 + i * 60_000 + 500)}, 1)`
    }

    await page.goto(`${base}/alerts`)
    expect(await page.locator('#alert-groups tr.alert-group').count()).toBe(2)
    expect(await page.locator('#alert-groups tr.alert-group .group-count').allInnerTexts()).toEqual([
      '11',
      '150',
    ])
    expect(
      await page
        .locator('#alert-groups tr.alert-group')
        .evaluateAll((trs) =>
          (trs as unknown as { getAttribute(n: string): string | null }[]).map((tr) =>
            tr.getAttribute('data-family'),
          ),
        ),
    ).toEqual(['import', 'process:INSUFFICIENT_STOCK'])
    const [, collapsed] = await pageSize(page)
    expect(collapsed).toBeLessThan(1400)
    await screenshots(page, 'fixes-alerts')

    const stockGroup = page.locator('#alert-groups tr.alert-detail').nth(1)
    await stockGroup.locator('summary').click()
    expect(await stockGroup.locator('.alert-list > li').count()).toBe(25)
    expect(
      await stockGroup
        .locator('.alert-list > li')
        .first()
        .locator('.actions a')
        .evaluateAll((as) =>
          (as as unknown as { getAttribute(n: string): string | null }[]).map((a) => a.getAttribute('href')),
        ),
    ).toEqual([
      '/errors?code=INSUFFICIENT_STOCK&store=92&item=150',
      '/items/92/150',
      '/errors?code=INSUFFICIENT_STOCK&store=92&item=150#redrive-h',
    ])
    expect(
      await page
        .locator('#alert-groups tr.alert-group')
        .nth(1)
        .locator('.actions a')
        .first()
        .getAttribute('href'),
    ).toBe('/errors?code=INSUFFICIENT_STOCK')
    const importGroup = page.locator('#alert-groups tr.alert-detail').nth(0)
    await importGroup.locator('summary').click()
    const importLinks = await importGroup
      .locator('.alert-list > li .actions a')
      .evaluateAll((as) =>
        (as as unknown as { getAttribute(n: string): string | null }[]).map((a) => a.getAttribute('href')),
      )
    // The newest is the last inserted (gone-9.csv, no import); bad-rows.csv's alert is the oldest of the group.
    expect(importLinks).toHaveLength(11)
    expect(importLinks.at(-1)).toBe(`/imports/${imp!.id}`)
    expect(new Set(importLinks.slice(0, -1))).toEqual(new Set(['/imports']))
    await screenshot(page, 'fixes-alerts-open-1280')
  })

  it('lists the files waiting and being imported on the Pipeline page, and labels the chart with times', async () => {
    // A console of its own on a folder no importer watches, so the files stay where they are.
    const folder = await mkdtemp(join(tmpdir(), 'stockflow-queue-'))
    await mkdir(join(folder, 'uploads'))
    await mkdir(join(folder, 'processing'))
    await writeFile(join(folder, 'day-7.csv'), `${HEADER}\n${'x'.repeat(2048 - HEADER.length - 1)}`)
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000 - 30_000)
    await utimes(join(folder, 'day-7.csv'), twoHoursAgo, twoHoursAgo)
    await writeFile(join(folder, 'uploads', 'inv\u202egpj.csv'), HEADER)
    await writeFile(join(folder, '.still-writing.csv.part'), HEADER)
    await writeFile(join(folder, 'processing', 'busy.csv'), HEADER)
    await writeFile(join(folder, 'processing', 'busy.csv.rejected.csv'), HEADER)
    const queueBase = await f.serve({ INPUT_DIR: folder })

    await page.goto(`${queueBase}/pipeline`)
    expect(await page.textContent('[data-count="waiting"]')).toBe('2')
    expect(await page.textContent('[data-count="processing"]')).toBe('1')
    const waiting = await page
      .locator('#waiting-files tbody tr')
      .evaluateAll((trs) =>
        (trs as unknown as { querySelectorAll(s: string): { textContent: string | null }[] }[]).map((tr) =>
          Array.from(tr.querySelectorAll('td'), (td) => (td.textContent ?? '').trim()),
        ),
      )
    expect(waiting).toEqual([
      ['day-7.csv', '2.0 KB', '2 h'],
      ['uploads/inv\\u{202E}gpj.csv', `${HEADER.length} B`, expect.stringMatching(/^\d+ s$/)],
    ])
    expect(await page.locator('#processing-files tbody td.file').allInnerTexts()).toEqual(['busy.csv'])
    const labels = await page.locator('svg.chart text.tick[text-anchor="middle"]').allTextContents()
    expect(labels).toHaveLength(3)
    for (const l of labels) expect(l).toMatch(/^\d\d:\d\dZ$/)
    await screenshots(page, 'fixes-pipeline')
  })

  it('fits the Imports page in 1,280 px with a long file name, whose full name is in its title', async () => {
    const long = `${'a-very-long-export-name-'.repeat(8)}store-80.csv`
    await writeFile(
      join(f.inputDir, long),
      `${HEADER}\nc0000000-0000-4000-8000-000000000101,incoming,2024-05-02T08:00:00Z,80,2,5\n`,
    )
    await pollUntil('the long name imported', async () => {
      const found = await f.ctx.sql`select 1 from import_outcomes where file_name = ${long}`
      return found.length > 0
    })
    await page.goto(`${base}/imports`)
    const [width] = await pageSize(page)
    expect(width).toBeLessThanOrEqual(1280)
    // The table itself fits too: nothing hides in a scroll box.
    const fits = await page.evaluate(
      "(() => { const t = document.querySelector('#imports'); return t.scrollWidth <= t.parentElement.clientWidth })()",
    )
    expect(fits).toBe(true)
    const link = page.locator('#imports td.file a', { hasText: 'store-80.csv' })
    expect(await link.getAttribute('title')).toBe(long)
    await screenshots(page, 'fixes-imports')
  })
})
