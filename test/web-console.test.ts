// The web console in a real browser (Debian's chromium through playwright-core), against the real stack:
// a real importer and processor in-process, Kafka, the registry, and Postgres read as stockflow_web.
// What each page shows and does; test/web-security.test.ts has what the console refuses.
import { copyFile, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { screenshot, unlabelledFields } from './support/browser.ts'
import { type ConsoleFixture, EXAMPLES, startConsoleFixture } from './support/console.ts'
import { pollUntil } from './support/context.ts'
import { encoders } from './support/kafka.ts'
import { movement, produceMovements } from './support/processor.ts'

describe('web console', () => {
  let f: ConsoleFixture
  let page: Page
  let base: string

  beforeAll(async () => {
    f = await startConsoleFixture('web')
    base = await f.serve()
    page = await f.browser.newPage({ acceptDownloads: true })
  })
  afterAll(async () => {
    await f?.close()
  })

  it('reads as stockflow_web, which can select views but write nothing directly', async () => {
    const [who] = await f.webSql`select current_user as name`
    expect(who?.name).toBe('stockflow_web')
    await expect(f.webSql`select count(*) from stock_levels`).rejects.toMatchObject({ code: '42501' })
    await expect(f.webSql`insert into stock_thresholds values (1, 1, 1)`).rejects.toMatchObject({
      code: '42501',
    })
    await expect(f.webSql`select count(*)::int as n from stock_overview`).resolves.toEqual([{ n: 0 }])
  })

  it('shows a dropped example file in Imports, and its stock in a search', async () => {
    await copyFile(join(EXAMPLES, 'example.csv'), join(f.inputDir, 'example.csv'))
    await pollUntil('example.csv applied', async () => (await f.level(5, 12)) === 800)
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
    const expected = await f.ctx.sql`
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
    const journal = await f.ctx.sql`
      select source_file, source_line from stock_journal where store_number = 5 and item_number = 12
      order by entry_id desc`
    const sources = await page.locator('#history tbody tr td:nth-child(6)').allInnerTexts()
    expect(sources).toEqual(journal.map((j) => `${j.source_file}:${j.source_line}`))
    expect(sources).toHaveLength(2)

    await page.fill('#threshold', '900')
    await page.click('button:has-text("Save threshold")')
    await page.waitForURL(`${base}/items/5/12`)
    // 800 on hand under a threshold of 900: the state is recomputed at once, not at the next movement.
    expect(await page.textContent('.flash-ok')).toBe(
      'Threshold for item 12 at store 5 set to 900. The item is now low.',
    )
    expect(
      await f.ctx.sql`select low_state from stock_levels where store_number = 5 and item_number = 12`,
    ).toEqual([{ low_state: 1 }])
    expect(await f.ctx.sql`select old_threshold, new_threshold, actor from threshold_changes`).toEqual([
      { old_threshold: null, new_threshold: 900, actor: 'web:local@127.0.0.1' },
    ])
    expect(
      await f.ctx.sql`select threshold from stock_thresholds where store_number = 5 and item_number = 12`,
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
      const rows = await f.ctx.sql`
        select id, rows_read, rows_accepted, rows_rejected from import_outcomes where file_name = 'uploads/mistakes.csv'`
      return rows.length > 0 ? rows : undefined
    })
    expect(outcome).toMatchObject({ rows_read: 12, rows_rejected: 9, rows_accepted: 3 })

    await page.goto(`${base}/imports/${outcome!.id}`)
    expect(await page.locator('#rejected tbody tr').count()).toBe(9)
    const codes = await page.locator('#rejected tbody td.code').allInnerTexts()
    expect(codes).toEqual([
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
    const onDisk = await readFile(
      join(f.inputDir, 'processed', 'uploads', 'mistakes.csv.rejected.csv'),
      'utf8',
    )
    expect(await readFile(await download.path(), 'utf8')).toBe(onDisk)
  })

  it('re-drives a failed sale from the Errors page once its stock is booked', async () => {
    const enc = await encoders(f.ctx)
    const sale = movement('sale', 40, 1, 3)
    await produceMovements(f.importer.producer, f.ctx.config.topics.events, enc.movements, [sale])
    await pollUntil(
      'the sale failed',
      async () =>
        (await f.ctx.sql`select 1 from failed_movements where transaction_id = ${sale.transaction_id}`)
          .length === 1,
    )
    await produceMovements(f.importer.producer, f.ctx.config.topics.events, enc.movements, [
      movement('incoming', 40, 1, 10),
    ])
    await pollUntil('stock booked', async () => (await f.level(40, 1)) === 10)

    await page.goto(`${base}/errors`)
    await page.fill('#e-store', '40')
    await page.click('button:has-text("Filter")')
    await page.waitForURL(/\/errors\?.*store=40/)
    expect(await page.locator('tbody tr td.mono').allInnerTexts()).toEqual([sale.transaction_id])
    await screenshot(page, 'errors')
    await page.click('button:has-text("Preview the re-drive")')
    expect(await page.locator('#preview tbody tr td.mono').allInnerTexts()).toEqual([sale.transaction_id])
    expect(await f.level(40, 1)).toBe(10) // a preview sends nothing
    await screenshot(page, 'redrive-preview')
    // The confirmation form, as the browser is about to send it.
    const confirmation = Object.fromEntries(
      await page.$$eval('form[action="/errors/redrive"] input[type=hidden]', (els) =>
        (els as unknown as { name: string; value: string }[]).map((e) => [e.name, e.value]),
      ),
    )
    await page.click('button:has-text("Re-drive these 1 movement(s)")')
    expect(await page.textContent('.flash-ok')).toMatch(/^Re-drove 1 movement\(s\) \(re-drive #\d+\)/)
    await pollUntil('the sale applied', async () => (await f.level(40, 1)) === 7)
    const audit = await f.ctx
      .sql`select id, filter, dry_run, count, actor, status, preview_id from redrives order by id`
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
    expect(await f.ctx.sql`select count(*)::int as n from redrives`).toEqual([{ n: 2 }])
  })

  it('reverts an imported file from its page: a preview, a confirmation, and the item shows the corrections', async () => {
    const header = 'transaction_id,event_type,date,store_number,item_number,value,to_store_number,reverses'
    const rows = [
      `a0000000-0000-4000-8000-000000000001,incoming,2024-05-01T08:00:00Z,70,1,30,,`,
      `a0000000-0000-4000-8000-000000000002,adjustment,2024-05-01T09:00:00Z,70,1,25,,`,
      `a0000000-0000-4000-8000-000000000003,transfer,2024-05-01T10:00:00Z,70,1,5,71,`,
    ]
    await writeFile(join(f.inputDir, 'wrong-day.csv'), `${header}\n${rows.join('\n')}\n`)
    await pollUntil('wrong-day.csv applied', async () => (await f.level(71, 1)) === 5)
    expect(await f.level(70, 1)).toBe(20)

    await page.goto(`${base}/items/70/1`)
    expect(await page.textContent('#last-count')).toMatch(/^25 on 2024-05-01 09:00:00Z \(−5\)$/)
    expect(await page.locator('#history tbody tr td.after').allInnerTexts()).toEqual(['20', '25', '30'])
    expect(await page.locator('#history tbody tr td.delta').allInnerTexts()).toEqual(['−5', '−5', '+30'])
    expect(await page.locator('#corrections tbody tr').count()).toBe(2)

    const [imp] = await f.ctx.sql`select id from import_outcomes where file_name = 'wrong-day.csv'`
    await page.goto(`${base}/imports/${imp!.id}`)
    await page.click('button:has-text("Preview a revert")')
    await page.waitForURL(`${base}/imports/${imp!.id}/revert/preview`)
    expect(await page.textContent('[data-count="to-reverse"]')).toBe('3')
    expect(await page.textContent('[data-count="below-zero"]')).toBe('0')
    expect(await page.locator('#revert-items tbody tr').allInnerTexts()).toEqual([
      expect.stringMatching(/^70\s+1\s+20\s+0$/),
      expect.stringMatching(/^71\s+1\s+5\s+0$/),
    ])
    expect(await f.ctx.sql`select count(*)::int as n from file_reverts`).toEqual([{ n: 0 }])
    await screenshot(page, 'revert-preview')
    await page.click('button:has-text("Publish 3 reversal(s)")')
    await page.waitForURL(`${base}/imports/${imp!.id}`)
    expect(await page.textContent('.flash-ok')).toContain('Published 3 reversal(s) for wrong-day.csv')
    await pollUntil('reverted', async () => (await f.level(70, 1)) === 0 && (await f.level(71, 1)) === 0)
    const [audit] = await f.ctx.sql`select actor, db_role, reversals_sent from file_reverts`
    expect(audit).toEqual({ actor: 'web:local@127.0.0.1', db_role: 'stockflow_web', reversals_sent: 3 })
    await page.reload()
    expect(await page.textContent('#reverted')).toMatch(/^Reverted on /)
    expect(await page.locator('#reverts tbody tr').count()).toBe(1)
    await page.goto(`${base}/items/70/1`)
    expect(await page.locator('#corrections tbody tr td:nth-child(2)').allInnerTexts()).toEqual([
      'reversal',
      'reversal',
      'reversal',
      'transfer to store 71',
      'adjustment',
    ])
    await screenshot(page, 'item-corrections')
  })

  it('shows alerts and the pipeline: lag per partition, parked sales, throughput', async () => {
    await page.goto(`${base}/alerts`)
    await screenshot(page, 'alerts')
    await page.goto(`${base}/pipeline`)
    const [parked] = await f.ctx.sql`select count(*)::int as n from parked_sales`
    expect(await page.textContent('#parked-count')).toBe(String(parked!.n))
    const [applied] = await f.ctx.sql`
      select count(*)::int as n from stock_journal where applied_at > now() - interval '15 minutes'`
    expect(await page.textContent('#applied-count')).toBe(applied!.n.toLocaleString('en-US'))
    const lagRows = await page.locator('tbody tr', { hasText: f.ctx.config.topics.events }).count()
    expect(lagRows).toBe(3) // one per partition of the suite's events topic
    expect(await page.locator('svg.chart rect.bar').count()).toBe(15)
    await screenshot(page, 'pipeline')
  })

  it('is usable from the keyboard, and every form field has a label', async () => {
    const [imp] = await f.ctx.sql`select id from import_outcomes order by id limit 1`
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
})
