// Item-master files through the watched folder (#23): a good file is loaded whole, a file with any bad row
// loads nothing and is reported as a whole-file failure (receipt with the lines, import_outcomes, errors).
import { copyFile, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Receipt } from '../ledger/input-folder.ts'
import type { StockError } from '../schemas/contract.ts'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { type RunningImporter, startImporter } from './support/importer.ts'
import { readTopic, setupTopics } from './support/kafka.ts'

const ITEMS = new URL('../examples/items.csv', import.meta.url)
const EXAMPLE_NAMES = [
  [2, 'Copy paper A4 80 g', 'ream'],
  [11, 'Ballpoint pen blue', 'box of 10'],
  [12, 'Stapler 24/6', 'pcs'],
  [13, 'Staples 24/6', 'box of 1000'],
  [17, 'Printer toner black', 'cartridge'],
  [18, 'Printer toner cyan', 'cartridge'],
  [21, 'Sticky notes 76 x 76 mm', 'pad'],
  [27, 'Archive box', 'pcs'],
]

describe('importer: item-master files', () => {
  let ctx: TestContext
  let kafka: Kafka
  let running: RunningImporter
  let inputDir: string

  beforeAll(async () => {
    inputDir = await mkdtemp(join(tmpdir(), 'stockflow-items-'))
    ctx = await createTestContext('importer_items', { INPUT_DIR: inputDir, IMPORT_SETTLE_MS: '100' })
    kafka = await setupTopics(ctx)
    running = await startImporter(ctx)
  })
  afterAll(async () => {
    await running.stop()
    await ctx.close()
  })

  const waitForReceipt = (state: string, name: string) =>
    pollUntil(
      `receipt for ${name} in ${state}/`,
      async () =>
        JSON.parse(await readFile(join(inputDir, state, `${name}.receipt.json`), 'utf8')) as Receipt,
      { timeoutMs: 60_000 },
    )
  const names = async (from = 0, to = 1000) =>
    (
      await ctx.sql`
        select item_number, name, unit, actor from item_names
        where item_number between ${from} and ${to} order by item_number`
    ).map((r) => [r.item_number, r.name, r.unit, r.actor])
  const eventCount = async () => {
    const admin = kafka.admin()
    await admin.connect()
    const offsets = await admin.fetchTopicOffsets(ctx.config.topics.events)
    await admin.disconnect()
    return offsets.reduce((n, p) => n + Number(p.high), 0)
  }

  it('loads examples/items.csv whole: a receipt saying how many, an outcome, the names in item_names', async () => {
    await copyFile(ITEMS, join(inputDir, 'items.csv'))
    const receipt = await waitForReceipt('processed', 'items.csv')
    expect(receipt).toMatchObject({
      file: 'items.csv',
      status: 'processed',
      kind: 'items',
      items_loaded: 8,
      rows_read: 8,
      rows_accepted: 8,
      rows_rejected: 0,
      rejections: [],
      rejected_csv: null,
      error: null,
    })
    expect(await names()).toEqual(EXAMPLE_NAMES.map((n) => [...n, 'file:items.csv']))
    const outcomes = await ctx.sql`
      select file_name, status, kind, code, rows_read, rows_accepted, rows_rejected from import_outcomes`
    expect(outcomes.map((o) => ({ ...o }))).toEqual([
      {
        file_name: 'items.csv',
        status: 'processed',
        kind: 'items',
        code: null,
        rows_read: 8,
        rows_accepted: 8,
        rows_rejected: 0,
      },
    ])
    const [history] = await ctx.sql`select kind from import_history where file_name = 'items.csv'`
    expect(history?.kind).toBe('items')
    expect(await readdir(join(inputDir, 'processed'))).toEqual(['items.csv', 'items.csv.receipt.json'])
    expect(await eventCount()).toBe(0)
  })

  it('loads nothing from a file with bad rows, and reports every bad line as a whole-file failure', async () => {
    const bad = [
      'Name , ITEM_NUMBER,unit',
      'Stapler renamed,12,pcs',
      ',13,',
      'Washer,abc,',
      'Stapler again,12,',
      'Zero\u200bwidth,41,',
      'Long unit,42,a unit name much too long',
    ]
    await writeFile(join(inputDir, 'items-bad.csv'), `${bad.join('\r\n')}\r\n`)
    const receipt = await waitForReceipt('failed', 'items-bad.csv')
    expect(receipt).toMatchObject({
      file: 'items-bad.csv',
      status: 'failed',
      kind: 'items',
      items_loaded: 0,
      rows_read: 6,
      rows_accepted: 0,
      rows_rejected: 5,
      rejected_csv: null,
      rejected_by_code: { INVALID_NAME: 2, INVALID_ITEM: 1, DUPLICATE_IN_FILE: 1, INVALID_UNIT: 1 },
    })
    expect(receipt.rejections).toEqual([
      { line: 3, code: 'INVALID_NAME', message: 'name is blank' },
      {
        line: 4,
        code: 'INVALID_ITEM',
        message: "item_number 'abc' is not a whole number from 0 to 2147483647",
      },
      {
        line: 5,
        code: 'DUPLICATE_IN_FILE',
        message: 'item_number 12 is on line 2 and line 5; name each item once per file',
      },
      { line: 6, code: 'INVALID_NAME', message: 'name contains an invisible character (U+200B)' },
      { line: 7, code: 'INVALID_UNIT', message: 'unit has 25 characters; at most 20' },
    ])
    const message =
      '5 of 6 rows are not valid items (the first, on line 3: name is blank); nothing was loaded. Fix every listed line and drop the whole file again'
    expect(receipt.error).toEqual({ code: 'INVALID_ITEMS', message })

    // Nothing loaded: item 12 keeps its name from items.csv, and no item of the bad file appears.
    expect(await names()).toEqual(EXAMPLE_NAMES.map((n) => [...n, 'file:items.csv']))

    const [outcome] = await ctx.sql`
      select status, kind, code, message, rows_read, rows_accepted, rows_rejected, rejected_by_code
      from import_outcomes where file_name = 'items-bad.csv'`
    expect({ ...outcome }).toEqual({
      status: 'failed',
      kind: 'items',
      code: 'INVALID_ITEMS',
      message,
      rows_read: 6,
      rows_accepted: 0,
      rows_rejected: 5,
      rejected_by_code: { INVALID_NAME: 2, INVALID_ITEM: 1, DUPLICATE_IN_FILE: 1, INVALID_UNIT: 1 },
    })

    const errors = await readTopic<StockError>(ctx, kafka, ctx.config.topics.errors, 'StockError', 1)
    expect(
      errors.map((e) => [e.key, e.value.stage, e.value.code, e.value.source_file, e.value.source_line]),
    ).toEqual([['items-bad.csv', 'import', 'INVALID_ITEMS', 'items-bad.csv', null]])
    expect(errors[0]!.value.message).toBe(`file items-bad.csv was not imported: ${message}`)
    expect((await readdir(join(inputDir, 'failed'))).sort()).toEqual([
      'items-bad.csv',
      'items-bad.csv.receipt.json',
    ])
    expect(await eventCount()).toBe(0)
  })

  it('loads 50,000 items from one file in one call', async () => {
    const rows = ['item_number,name']
    for (let i = 0; i < 50_000; i++) rows.push(`${100_000 + i},Bulk item ${i}`)
    await writeFile(join(inputDir, 'many-items.csv'), `${rows.join('\n')}\n`)
    const receipt = await waitForReceipt('processed', 'many-items.csv')
    expect(receipt).toMatchObject({
      status: 'processed',
      kind: 'items',
      items_loaded: 50_000,
      rows_read: 50_000,
    })
    const [count] = await ctx.sql`
      select count(*)::int as n, count(unit)::int as units from item_names where item_number >= 100000`
    expect({ ...count }).toEqual({ n: 50_000, units: 0 })
    expect(await names(149_999, 149_999)).toEqual([[149_999, 'Bulk item 49999', null, 'file:many-items.csv']])
  })
})
