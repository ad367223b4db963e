// "Explain the stock" in a real browser against the real stack: an item's ledger by business date for a file
// whose rows are out of date order, the balance report's numbers, the CSV exports' exact bytes, and the
// page of an item whose every movement failed. Screenshots at 1280 and 390 pixels wide.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { screenshot, unlabelledFields } from './support/browser.ts'
import { type ConsoleFixture, startConsoleFixture } from './support/console.ts'
import { pollUntil } from './support/context.ts'
import { encoders } from './support/kafka.ts'
import { movement, produceMovements } from './support/processor.ts'

const HEADER = 'transaction_id,event_type,date,store_number,item_number,value,to_store_number,reverses'
const LEDGER_CSV_HEADER =
  'business_date,type,leg,change,balance_by_business_date,quantity_after_as_applied,quantity,to_store_number,reverses,source_file,source_line,transaction_id,applied_at'
const id = (n: number) => `b0000000-0000-4000-8000-${String(n).padStart(12, '0')}`

// Store 80 receives and sells item 1 in an order that is not the order of the rows' dates, and sends 10 of
// it to store 81. Applied (file order): +100, −30, +50, −20, then the transfer's −10: 100, 70, 120, 100, 90.
// By business date: −30 (05-01), +50 (05-02), +100 (05-03 09:00), −10 (12:00), −20 (18:00): −30, 20, 120,
// 110, 90. Both end at 90, the balance by date passing below zero on the way.
const OUT_OF_ORDER = [
  `${id(1)},incoming,2024-05-03T09:00:00Z,80,1,100,,`,
  `${id(2)},sale,2024-05-01T10:00:00Z,80,1,30,,`,
  `${id(3)},incoming,2024-05-02T08:00:00Z,80,1,50,,`,
  `${id(4)},sale,2024-05-03T18:00:00Z,80,1,20,,`,
  `${id(5)},incoming,2024-05-02T12:00:00Z,81,1,40,,`,
  `${id(6)},sale,2024-05-04T09:00:00Z,81,1,15,,`,
  `${id(7)},transfer,2024-05-03T12:00:00Z,80,1,10,81,`,
]

describe('web console: the ledger by business date and the balance report', () => {
  let f: ConsoleFixture
  let page: Page
  let base: string

  /** The page as it is now, wide and at a phone's width. */
  async function screenshots(name: string) {
    await page.setViewportSize({ width: 1280, height: 800 })
    await screenshot(page, name)
    await page.setViewportSize({ width: 390, height: 844 })
    await screenshot(page, `${name}-390`)
    await page.setViewportSize({ width: 1280, height: 800 })
  }

  /** When each of the file's movements was applied, as the CSV writes it. */
  async function appliedAt(ids: string[], store: number): Promise<Map<string, string>> {
    const rows = await f.ctx.sql`
      select transaction_id::text, applied_at from stock_journal
      where transaction_id = any(${ids}::uuid[]) and store_number = ${store}`
    return new Map(rows.map((r) => [r.transaction_id as string, (r.applied_at as Date).toISOString()]))
  }

  beforeAll(async () => {
    f = await startConsoleFixture('ledger')
    base = await f.serve()
    page = await f.browser.newPage({ acceptDownloads: true, viewport: { width: 1280, height: 800 } })
    await writeFile(join(f.inputDir, 'out-of-order.csv'), `${HEADER}\n${OUT_OF_ORDER.join('\n')}\n`)
    await pollUntil(
      'out-of-order.csv applied',
      async () => (await f.level(80, 1)) === 90 && (await f.level(81, 1)) === 35,
    )
  })
  afterAll(async () => {
    await f?.close()
  })

  it('lists an item by business date, with the balance by date beside the balance as applied', async () => {
    await page.goto(`${base}/items/80/1`)
    await page.click('#ledger-link')
    await page.waitForURL(`${base}/items/80/1/ledger`)
    const column = (cls: string) => page.locator(`#ledger tbody tr td.${cls}`).allInnerTexts()
    expect(await column('date')).toEqual([
      '2024-05-01 10:00:00Z',
      '2024-05-02 08:00:00Z',
      '2024-05-03 09:00:00Z',
      '2024-05-03 12:00:00Z',
      '2024-05-03 18:00:00Z',
    ])
    expect(await column('type')).toEqual(['sale', 'incoming', 'incoming', 'transfer to store 81', 'sale'])
    expect(await column('delta')).toEqual(['−30', '+50', '+100', '−10', '−20'])
    expect(await column('balance')).toEqual(['−30', '20', '120', '110', '90'])
    expect(await column('after')).toEqual(['70', '120', '100', '90', '100'])
    expect(await column('source')).toEqual([
      'out-of-order.csv:3',
      'out-of-order.csv:4',
      'out-of-order.csv:2',
      'out-of-order.csv:8',
      'out-of-order.csv:5',
    ])
    expect(await page.locator('#ledger tbody tr td.mono').allInnerTexts()).toEqual([2, 3, 1, 7, 4].map(id))
    expect(await page.textContent('#ledger-hint')).toContain('arrived out of date order')
    expect(await page.textContent('#closing')).toBe('90')
    expect(await unlabelledFields(page)).toEqual([])
    await screenshots('ledger')
  })

  it('filters the ledger by business date and type; the balance still counts every earlier movement', async () => {
    await page.goto(`${base}/items/80/1/ledger`)
    await page.fill('#l-from', '2024-05-02')
    await page.fill('#l-to', '2024-05-03')
    await page.selectOption('#l-type', 'incoming')
    await page.click('button:has-text("Filter")')
    await page.waitForURL(`${base}/items/80/1/ledger?from=2024-05-02&to=2024-05-03&type=incoming`)
    expect(await page.locator('#ledger tbody tr td.date').allInnerTexts()).toEqual([
      '2024-05-02 08:00:00Z',
      '2024-05-03 09:00:00Z',
    ])
    expect(await page.locator('#ledger tbody tr td.balance').allInnerTexts()).toEqual(['20', '120'])
    expect(await page.textContent('#opening')).toBe('−30')
    expect(await page.textContent('#closing')).toBe('90')

    // A day is a whole UTC day: to=2024-05-01 includes the sale at 10:00 and nothing later.
    await page.goto(`${base}/items/80/1/ledger?to=2024-05-01`)
    expect(await page.locator('#ledger tbody tr td.balance').allInnerTexts()).toEqual(['−30'])

    const bad = await page.goto(`${base}/items/80/1/ledger?from=2024-02-30&type=gift`)
    expect(bad!.status()).toBe(400)
    expect(await page.locator('.problems li').allInnerTexts()).toEqual([
      "From: '2024-02-30' is not a date written as YYYY-MM-DD",
      "Type: 'gift' is not one of incoming, sale, adjustment, transfer, reversal",
    ])
  })

  it('exports the filtered ledger as CSV, every row, numbers as numbers', async () => {
    await page.goto(`${base}/items/80/1/ledger?from=2024-05-02`)
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#ledger-csv')])
    expect(download.suggestedFilename()).toBe('ledger-store-80-item-1-from-2024-05-02.csv')
    const applied = await appliedAt([1, 3, 4, 7].map(id), 80)
    expect(await readFile(await download.path(), 'utf8')).toBe(
      [
        LEDGER_CSV_HEADER,
        `2024-05-02T08:00:00.000Z,incoming,1,50,20,120,50,,,out-of-order.csv,4,${id(3)},${applied.get(id(3))}`,
        `2024-05-03T09:00:00.000Z,incoming,1,100,120,100,100,,,out-of-order.csv,2,${id(1)},${applied.get(id(1))}`,
        `2024-05-03T12:00:00.000Z,transfer,1,-10,110,90,10,81,,out-of-order.csv,8,${id(7)},${applied.get(id(7))}`,
        `2024-05-03T18:00:00.000Z,sale,1,-20,90,100,20,,,out-of-order.csv,5,${id(4)},${applied.get(id(4))}`,
        '',
      ].join('\r\n'),
    )
    const res = await page.request.get(`${base}/items/80/1/ledger.csv?type=gift`)
    expect(res.status()).toBe(400)
  })

  it('guards a file name a spreadsheet would run as a formula', async () => {
    await writeFile(
      join(f.inputDir, '=SUM(1).csv'),
      `${HEADER}\n${id(20)},incoming,2024-05-05T00:00:00Z,82,1,5,,\n`,
    )
    await pollUntil('=SUM(1).csv applied', async () => (await f.level(82, 1)) === 5)
    const res = await page.request.get(`${base}/items/82/1/ledger.csv`)
    const [applied] = (await appliedAt([id(20)], 82)).values()
    expect(await res.text()).toBe(
      `${LEDGER_CSV_HEADER}\r\n` +
        `2024-05-05T00:00:00.000Z,incoming,1,5,5,5,5,,,'=SUM(1).csv,2,${id(20)},${applied}\r\n`,
    )
  })

  it('pages a ledger and keeps the filters on every page link', async () => {
    // Twelve deliveries of one each, dated 06-12 down to 06-01: applied last-dated first.
    const rows = Array.from(
      { length: 12 },
      (_, i) => `${id(100 + i)},incoming,2024-06-${String(12 - i).padStart(2, '0')}T07:00:00Z,83,1,1,,`,
    )
    await writeFile(join(f.inputDir, 'june.csv'), `${HEADER}\n${rows.join('\n')}\n`)
    await pollUntil('june.csv applied', async () => (await f.level(83, 1)) === 12)
    const small = await f.serve({ WEB_PAGE_SIZE: '5' })
    await page.goto(`${small}/items/83/1/ledger?from=2024-06-03`)
    expect(await page.textContent('.pager span')).toBe('Page 1 of 2 (10 rows)')
    expect(await page.locator('#ledger tbody tr td.balance').allInnerTexts()).toEqual([
      '3',
      '4',
      '5',
      '6',
      '7',
    ])
    await page.click('.pager a[rel="next"]')
    await page.waitForURL(`${small}/items/83/1/ledger?from=2024-06-03&page=2`)
    // The row dated 06-d was applied 13 − d-th: its balance by date is d, the balance as applied 13 − d.
    expect(await page.locator('#ledger tbody tr td.balance').allInnerTexts()).toEqual([
      '8',
      '9',
      '10',
      '11',
      '12',
    ])
    expect(await page.locator('#ledger tbody tr td.after').allInnerTexts()).toEqual(['5', '4', '3', '2', '1'])
    expect(await page.getAttribute('#ledger-csv', 'href')).toBe('/items/83/1/ledger.csv?from=2024-06-03')
  })

  it('answers a balance page past the end with the last page, from the same count', async () => {
    // Store 86 gets items 1..7, item i a delivery of i.
    const rows = Array.from(
      { length: 7 },
      (_, i) => `${id(200 + i)},incoming,2024-07-01T07:00:00Z,86,${i + 1},${i + 1},,`,
    )
    await writeFile(join(f.inputDir, 'store-86.csv'), `${HEADER}\n${rows.join('\n')}\n`)
    await pollUntil('store-86.csv applied', async () => (await f.level(86, 7)) === 7)
    const small = await f.serve({ WEB_PAGE_SIZE: '5' })
    await page.goto(`${small}/balance?store=86&page=9`)
    expect(await page.textContent('.pager span')).toBe('Page 2 of 2 (7 rows)')
    expect(await page.locator('#balance tbody tr').allInnerTexts()).toEqual([
      expect.stringMatching(/^86\s+6\s+0\s+6\s+0\s+6$/),
      expect.stringMatching(/^86\s+7\s+0\s+7\s+0\s+7$/),
    ])
    expect(await page.locator('#balance-total').innerText()).toMatch(
      /^Total, all 7 row\(s\)\s+0\s+28\s+0\s+28$/,
    )
    await page.goto(`${small}/balance?store=86&page=2`)
    expect(await page.textContent('.pager span')).toBe('Page 2 of 2 (7 rows)')
    await page.goto(`${small}/balance?store=86`)
    expect(await page.locator('#balance tbody tr').count()).toBe(5)
  })

  it('counts a transfer and its reversal between two stores shown neither in nor out across stores', async () => {
    // Store 87 receives 50 of item 2 and sends 20 to 88 on 07-02; the transfer is reversed on 07-03.
    const rows = [
      `${id(300)},incoming,2024-07-01T07:00:00Z,87,2,50,,`,
      `${id(301)},transfer,2024-07-02T07:00:00Z,87,2,20,88,`,
      `${id(302)},reversal,2024-07-03T07:00:00Z,87,2,20,,${id(301)}`,
    ]
    await writeFile(join(f.inputDir, 'reversed-transfer.csv'), `${HEADER}\n${rows.join('\n')}\n`)
    await pollUntil(
      'reversed-transfer.csv applied',
      async () => (await f.level(87, 2)) === 50 && (await f.level(88, 2)) === 0,
    )
    const report = async (query: string) =>
      (await page.request.get(`${base}/balance.csv?${query}`)).text().then((t) => t.split('\r\n')[1])
    // Per store: 87 in 50 + 20 (the reversal), out 20; 88 in 20, out 20 (the reversal).
    expect(await report('store=87-88&item=2')).toBe('87,2,0,70,20,50')
    expect(await report('store=87-88&item=2&by=item')).toBe('2,2,0,50,0,50')
    // Store 87 alone: the transfer left it and the reversal brought it back.
    expect(await report('store=87&item=2&by=item')).toBe('2,1,0,70,20,50')
  })

  it('plots the item by business date, with dates on the time axis', async () => {
    await page.goto(`${base}/items/80/1`)
    // Five steps from −30 to 90 over 2024-05-01 10:00 to 05-03 18:00; the axis reaches down to −50.
    // SVG text has no innerText: its text content is what is drawn.
    expect(await page.locator('svg.chart text.tick').allTextContents()).toEqual([
      '-50',
      '0',
      '50',
      '100',
      '150',
      '2024-05-01',
      '2024-05-02',
      '2024-05-03',
    ])
    expect((await page.getAttribute('svg.chart path.line', 'd'))!.split(' V')).toHaveLength(5)
    await screenshots('item-by-date')
  })

  it('reports opening, in, out and closing for a period, per store and for all stores', async () => {
    await page.goto(`${base}/balance`)
    await page.fill('#b-from', '2024-05-02')
    await page.fill('#b-to', '2024-05-03')
    await page.fill('#b-store', '80-81')
    await page.click('button:has-text("Show")')
    // A form sends its empty fields too: item= stays in the URL.
    await page.waitForURL(`${base}/balance?from=2024-05-02&to=2024-05-03&store=80-81&item=&by=store`)
    const table = () => page.locator('#balance tbody tr').allInnerTexts()
    // 80: −30 dated before the period; in 50 + 100; out the transfer's 10 and the sale's 20. 81: in 40 + 10.
    expect(await table()).toEqual([
      expect.stringMatching(/^80\s+1\s+−30\s+150\s+30\s+90$/),
      expect.stringMatching(/^81\s+1\s+0\s+50\s+0\s+50$/),
    ])
    expect(await page.locator('#balance-total').innerText()).toMatch(
      /^Total, all 2 row\(s\)\s+−30\s+200\s+30\s+140$/,
    )
    await screenshots('balance')

    await page.click('#balance-scope')
    await page.waitForURL(`${base}/balance?from=2024-05-02&to=2024-05-03&store=80-81&by=item`)
    // All stores together, the transfer from 80 to 81 moved nothing in or out: in 50 + 100 + 40, out 20.
    expect(await table()).toEqual([expect.stringMatching(/^1\s+2\s+−30\s+190\s+20\s+140$/)])
    // With only store 80 in the range, the transfer leaves the stores shown: it is out again.
    await page.goto(`${base}/balance?from=2024-05-02&to=2024-05-03&store=80&by=item`)
    expect(await table()).toEqual([expect.stringMatching(/^1\s+1\s+−30\s+150\s+30\s+90$/)])
    await screenshots('balance-all-stores')

    // As of the end of a day: everything dated up to it, from nothing.
    await page.goto(`${base}/balance?to=2024-05-01&store=80-81`)
    expect(await table()).toEqual([expect.stringMatching(/^80\s+1\s+0\s+0\s+30\s+−30$/)])
    // Over all time the closing is the stock itself.
    await page.goto(`${base}/balance?store=80-81`)
    expect(await table()).toEqual([
      expect.stringMatching(/^80\s+1\s+0\s+150\s+60\s+90$/),
      expect.stringMatching(/^81\s+1\s+0\s+50\s+15\s+35$/),
    ])
    // A page past the end (an old link after rows went away) shows the last page, with the totals.
    await page.goto(`${base}/balance?store=80-81&page=7`)
    expect(await table()).toEqual([
      expect.stringMatching(/^80\s+1\s+0\s+150\s+60\s+90$/),
      expect.stringMatching(/^81\s+1\s+0\s+50\s+15\s+35$/),
    ])
    expect(await page.locator('#balance-total').innerText()).toMatch(
      /^Total, all 2 row\(s\)\s+0\s+200\s+75\s+125$/,
    )
    expect(await unlabelledFields(page)).toEqual([])
  })

  it('exports the balance report and the stock list as CSV, all rows, with the page filters', async () => {
    const balance = await page.request.get(`${base}/balance.csv?from=2024-05-02&to=2024-05-03&store=80-81`)
    expect(balance.headers()['content-type']).toBe('text/csv; charset=utf-8')
    expect(balance.headers()['content-disposition']).toBe(
      'attachment; filename=balance-from-2024-05-02-to-2024-05-03-store-80-81.csv',
    )
    expect(await balance.text()).toBe(
      'store_number,item_number,opening,in,out,closing\r\n80,1,-30,150,30,90\r\n81,1,0,50,0,50\r\n',
    )
    // As of the contract's last day: everything, with no year-10000 bound for Postgres to choke on.
    // A page number, even a bad one, is no concern of the whole file.
    const last = await page.request.get(`${base}/balance.csv?from=9999-12-31&to=9999-12-31&store=80&page=0`)
    expect(await last.text()).toBe('store_number,item_number,opening,in,out,closing\r\n80,1,90,0,0,90\r\n')
    const byItem = await page.request.get(`${base}/balance.csv?to=2024-05-03&store=80-81&by=item`)
    expect(await byItem.text()).toBe('item_number,stores,opening,in,out,closing\r\n1,2,0,190,50,140\r\n')

    await page.goto(`${base}/stock?store=80-82&sort=quantity&dir=desc`)
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#stock-csv')])
    expect(download.suggestedFilename()).toBe('stock-store-80-82-sort-quantity-dir-desc.csv')
    const levels = await f.ctx.sql`
      select store_number, updated_at from stock_levels where store_number between 80 and 82 order by store_number`
    const updated = new Map(
      levels.map((l) => [l.store_number as number, (l.updated_at as Date).toISOString()]),
    )
    const threshold = f.ctx.config.processor.lowStockDefault
    // The state is the item's low-stock episode, which a sale opens: store 82 had only a delivery of 5, so
    // it is OK though under the threshold, as on the Stock page.
    const state = (q: number) => (q === 0 ? 'OUT_OF_STOCK' : q < threshold ? 'LOW' : 'OK')
    expect(await readFile(await download.path(), 'utf8')).toBe(
      [
        'store_number,item_number,quantity,state,threshold,threshold_from,updated_at',
        `80,1,90,${state(90)},${threshold},default,${updated.get(80)}`,
        `81,1,35,${state(35)},${threshold},default,${updated.get(81)}`,
        `82,1,5,OK,${threshold},default,${updated.get(82)}`,
        '',
      ].join('\r\n'),
    )
  })

  it('exports a ledger of 41,000 movements whole', async () => {
    // One delivery a minute, newest first in the file, so the sort by date does all the work.
    const start = Date.parse('2024-01-01T00:00:00Z')
    const lines = Array.from({ length: 41_000 }, (_, i) => {
      const at = new Date(start + (41_000 - i) * 60_000).toISOString().replace('.000Z', 'Z')
      return `c0000000-0000-4000-8000-${String(i).padStart(12, '0')},incoming,${at},84,1,1,,`
    })
    await writeFile(join(f.inputDir, 'big.csv'), `${HEADER}\n${lines.join('\n')}\n`)
    await pollUntil('big.csv applied', async () => (await f.level(84, 1)) === 41_000, { timeoutMs: 120_000 })
    const res = await page.request.get(`${base}/items/84/1/ledger.csv`)
    expect(res.status()).toBe(200)
    const rows = (await res.text()).split('\r\n')
    expect(rows).toHaveLength(41_002) // the header, 41,000 rows, and the empty string after the last CRLF
    // The earliest-dated row is the file's last: balance by date 1, applied last (41,000 after it).
    expect(rows[1]!.split(',').slice(0, 6)).toEqual([
      '2024-01-01T00:01:00.000Z',
      'incoming',
      '1',
      '1',
      '1',
      '41000',
    ])
    expect(rows[41_000]!.split(',').slice(0, 6)).toEqual([
      '2024-01-29T11:20:00.000Z',
      'incoming',
      '1',
      '1',
      '41000',
      '1',
    ])
  })

  it('opens the page of an item whose every movement failed, and 404 for one nothing was booked for', async () => {
    const enc = await encoders(f.ctx)
    const sale = movement('sale', 90, 1, 3)
    await produceMovements(f.importer.producer, f.ctx.config.topics.events, enc.movements, [sale])
    await pollUntil(
      'the sale failed',
      async () =>
        (await f.ctx.sql`select 1 from failed_movements where transaction_id = ${sale.transaction_id}`)
          .length === 1,
    )
    await page.goto(`${base}/errors?store=90`)
    await page.click('a[href="/items/90/1"]')
    await page.waitForURL(`${base}/items/90/1`)
    expect(await page.textContent('#nothing-applied')).toBe(
      'No movement has been applied for this item: every one so far failed (below).',
    )
    expect(await page.locator('#failures tbody tr td.mono').allInnerTexts()).toEqual([sale.transaction_id])
    expect(await page.getAttribute('#errors-link', 'href')).toBe('/errors?store=90&item=1')
    await screenshots('item-failed-only')
    await page.click('#errors-link')
    await page.waitForURL(`${base}/errors?store=90&item=1`)
    expect(await page.locator('tbody tr', { hasText: sale.transaction_id }).count()).toBe(1)

    for (const path of ['/items/91/1', '/items/91/1/ledger', '/items/91/1/ledger.csv']) {
      const res = await page.request.get(`${base}${path}`)
      expect({ path, status: res.status() }).toEqual({ path, status: 404 })
    }
  })
})
