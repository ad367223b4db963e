// The importer against the real broker, registry and Postgres, through a watched folder.
import { appendFile, copyFile, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Receipt } from '../ledger/input-folder.ts'
import type { StockError, StockMovement } from '../schemas/contract.ts'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { type RunningImporter, startImporter } from './support/importer.ts'
import { readTopic, setupTopics } from './support/kafka.ts'

const SEED = new URL('../examples/example.csv', import.meta.url)

describe('importer', () => {
  let ctx: TestContext
  let kafka: Kafka
  let running: RunningImporter
  let inputDir: string

  beforeAll(async () => {
    inputDir = await mkdtemp(join(tmpdir(), 'stockflow-in-'))
    ctx = await createTestContext('importer', { INPUT_DIR: inputDir, IMPORT_SETTLE_MS: '300' })
    kafka = await setupTopics(ctx)
    running = await startImporter(ctx)
  })

  afterAll(async () => {
    await running.stop()
    await ctx.close()
  })

  const receiptOf = async (state: string, name: string): Promise<Receipt> =>
    JSON.parse(await readFile(join(inputDir, state, `${name}.receipt.json`), 'utf8'))
  const waitForReceipt = (state: string, name: string) =>
    pollUntil(`receipt for ${name} in ${state}/`, async () => receiptOf(state, name).catch(() => undefined), {
      timeoutMs: 60_000,
    })

  it('imports the seed example unchanged: 9 events with store:item keys, then moves it with a receipt', async () => {
    await copyFile(SEED, join(inputDir, 'example.csv'))
    const receipt = await waitForReceipt('processed', 'example.csv')
    expect(receipt).toMatchObject({ status: 'processed', rows_read: 9, rows_accepted: 9, rows_rejected: 0 })
    expect(receipt.sha256).toMatch(/^[0-9a-f]{64}$/)
    const events = await readTopic<StockMovement>(ctx, kafka, ctx.config.topics.events, 'StockMovement', 9)
    expect(events).toHaveLength(9)
    const first = events.find((e) => e.value.transaction_id === '8947695b-7f19-44b6-96b6-7f8ed041fe57')
    expect(first?.key).toBe('5:12')
    expect(first?.value).toEqual({
      transaction_id: '8947695b-7f19-44b6-96b6-7f8ed041fe57',
      event_type: 'incoming',
      occurred_at: Date.parse('2019-04-14T03:47:13Z'),
      store_number: 5,
      item_number: 12,
      quantity: 400,
      // A six-column row is read by the version-2 contract with the correction fields at their defaults.
      to_store_number: null,
      reverses: null,
    })
    expect(first?.headers).toMatchObject({
      'stockflow-source-file': 'example.csv',
      'stockflow-source-line': '2',
    })
    expect(events.map((e) => e.key).sort()).toEqual(
      ['5:12', '6:17', '6:18', '8:27', '5:13', '6:2', '5:12', '8:11', '5:21'].sort(),
    )
    expect(await readdir(join(inputDir, 'processing'))).toEqual([])
  })

  it('re-dropping the same content publishes nothing new', async () => {
    await copyFile(SEED, join(inputDir, 'example-again.csv'))
    const receipt = await waitForReceipt('processed', 'example-again.csv')
    expect(receipt).toMatchObject({ status: 'duplicate', duplicate_of: 'example.csv', rows_read: 0 })
    const events = await readTopic<StockMovement>(ctx, kafka, ctx.config.topics.events, 'StockMovement', 9)
    expect(events).toHaveLength(9)
  })

  it('splits a mixed file into events and errors, with a receipt and a rejected CSV naming the lines', async () => {
    const rows = [
      'transaction_id,event_type,date,store_number,item_number,value',
      'aaaaaaaa-0000-4000-8000-000000000001,sale,2020-01-01T00:00:00Z,1,1,5',
      'not-a-uuid,sale,2020-01-01T00:00:00Z,1,1,5',
      'aaaaaaaa-0000-4000-8000-000000000002,refund,2020-01-01T00:00:00Z,1,1,5',
      'aaaaaaaa-0000-4000-8000-000000000003,incoming,2020-01-01T00:00:00Z,1,1,"=HYPERLINK(""x"")"',
      'aaaaaaaa-0000-4000-8000-000000000001,incoming,2020-01-01T00:00:00Z,1,2,5',
      'aaaaaaaa-0000-4000-8000-000000000004,Incoming,2020-01-01T00:00:00+01:00,2,1,7',
    ]
    await writeFile(join(inputDir, 'mixed.csv'), `${rows.join('\r\n')}\r\n`)
    const receipt = await waitForReceipt('processed', 'mixed.csv')
    expect(receipt).toMatchObject({ status: 'processed', rows_read: 6, rows_accepted: 2, rows_rejected: 4 })
    expect(receipt.rejections.map((r) => [r.line, r.code])).toEqual([
      [3, 'INVALID_UUID'],
      [4, 'UNKNOWN_EVENT_TYPE'],
      [5, 'INVALID_QUANTITY'],
      [6, 'DUPLICATE_IN_FILE'],
    ])
    const rejected = (await readFile(join(inputDir, 'processed', 'mixed.csv.rejected.csv'), 'utf8'))
      .trim()
      .split('\n')
    expect(rejected[0]).toBe('transaction_id,event_type,date,store_number,item_number,value,error')
    expect(rejected).toHaveLength(5)
    expect(rejected[3]).toContain(`"'=HYPERLINK(""x"")"`)

    const errors = await readTopic<StockError>(ctx, kafka, ctx.config.topics.errors, 'StockError', 4)
    expect(errors.map((e) => [e.value.source_line, e.value.code, e.value.stage]).sort()).toEqual([
      [3, 'INVALID_UUID', 'import'],
      [4, 'UNKNOWN_EVENT_TYPE', 'import'],
      [5, 'INVALID_QUANTITY', 'import'],
      [6, 'DUPLICATE_IN_FILE', 'import'],
    ])
    expect(new Set(errors.map((e) => e.value.error_id)).size).toBe(4)
    const events = await readTopic<StockMovement>(ctx, kafka, ctx.config.topics.events, 'StockMovement', 11)
    expect(events.filter((e) => e.value.store_number <= 2).map((e) => [e.key, e.value.event_type])).toEqual(
      expect.arrayContaining([
        ['1:1', 'sale'],
        ['2:1', 'incoming'],
      ]),
    )
  })

  it('does not take a file that is still being written', async () => {
    const path = join(inputDir, 'slow.csv')
    const lines = (await readFile(SEED, 'utf8')).trim().split('\n')
    const header = lines[0]!
    await writeFile(path, `${header}\n`)
    // Keep appending at intervals below the settle time; the file must stay where it is meanwhile.
    for (let i = 1; i <= 4; i++) {
      await new Promise((r) => setTimeout(r, 120))
      const id = `bbbbbbbb-0000-4000-8000-00000000000${i}`
      await appendFile(path, `${id},incoming,2020-01-01T00:00:00Z,9,${i},1\n`)
      expect(await readdir(join(inputDir, 'processing'))).toEqual([])
    }
    const receipt = await waitForReceipt('processed', 'slow.csv')
    expect(receipt).toMatchObject({ rows_read: 4, rows_accepted: 4 })
  })

  it('fails a file with a missing column as a whole, publishing no movement', async () => {
    await writeFile(join(inputDir, 'nocol.csv'), 'transaction_id,event_type,date\nx,y,z\n')
    const receipt = await waitForReceipt('failed', 'nocol.csv')
    expect(receipt.status).toBe('failed')
    expect(receipt.error?.code).toBe('MISSING_COLUMNS')
    expect(receipt.error?.message).toContain('store_number, item_number, value')
    expect(receipt.rows_read).toBe(0)
  })

  it('rejects each typical mistake in examples/mistakes.csv with its code and lets the valid rows through', async () => {
    await copyFile(new URL('../examples/mistakes.csv', import.meta.url), join(inputDir, 'mistakes.csv'))
    const receipt = await waitForReceipt('processed', 'mistakes.csv')
    expect(receipt).toMatchObject({ rows_read: 12, rows_accepted: 3, rows_rejected: 9 })
    expect(receipt.rejections.map((r) => [r.line, r.code])).toEqual([
      [4, 'INVALID_UUID'],
      [5, 'UNKNOWN_EVENT_TYPE'],
      [6, 'INVALID_DATE'],
      [7, 'INVALID_QUANTITY'],
      [8, 'INVALID_QUANTITY'],
      [9, 'BLANK_FIELD'],
      [10, 'DUPLICATE_IN_FILE'],
      [11, 'INVALID_QUANTITY'],
      [12, 'FIELD_COUNT'],
    ])
  })

  it('imports a repaired .rejected.csv: the error column is ignored, neutralised cells restored, the rest rejected again', async () => {
    const rejected = await readFile(join(inputDir, 'processed', 'mistakes.csv.rejected.csv'), 'utf8')
    expect(rejected).toContain("'-3")
    const fixed = rejected
      .replace('not-a-transaction-id', '0d4c39a2-5a6e-4f0e-9d35-3e7f9a1b2c03')
      .replace('01/03/2024 09:30', '2024-03-01T09:30:00Z')
      .replace('2024-03-01T09:45:00Z,,100', '2024-03-01T09:45:00Z,7,100')
    await writeFile(join(inputDir, 'mistakes-fixed.rejected.csv'), fixed)
    const receipt = await waitForReceipt('processed', 'mistakes-fixed.rejected.csv')
    expect(receipt).toMatchObject({ rows_read: 9, rows_accepted: 4, rows_rejected: 5 })
    expect(receipt.rejections.map((r) => [r.line, r.code])).toEqual([
      [3, 'UNKNOWN_EVENT_TYPE'],
      [5, 'INVALID_QUANTITY'],
      [6, 'INVALID_QUANTITY'],
      [9, 'INVALID_QUANTITY'],
      [10, 'FIELD_COUNT'],
    ])
    // The quantity is read as it was in the original file, not with the spreadsheet guard.
    expect(receipt.rejections[1]?.message).toContain("value '-3'")
    expect(receipt.rejected_csv).toBe('mistakes-fixed.rejected.csv.rejected.csv')
  })
})
