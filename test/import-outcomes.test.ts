// Whole-file failures are visible: each goes to `errors` (stage import, no line, with its code), every
// file's outcome is persisted in import_outcomes, and `stats` shows rejections by code.
import { mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectStats } from '../ops/stats.ts'
import type { StockError } from '../schemas/contract.ts'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { type RunningImporter, startImporter } from './support/importer.ts'
import { readTopic, setupTopics } from './support/kafka.ts'

const HEADER = 'transaction_id,event_type,date,store_number,item_number,value'

describe('import outcomes', () => {
  let ctx: TestContext
  let kafka: Kafka
  let running: RunningImporter
  let inputDir: string

  beforeAll(async () => {
    inputDir = await mkdtemp(join(tmpdir(), 'stockflow-outcomes-'))
    ctx = await createTestContext('import_outcomes', { INPUT_DIR: inputDir, IMPORT_SETTLE_MS: '100' })
    kafka = await setupTopics(ctx)
    running = await startImporter(ctx)
  })
  afterAll(async () => {
    await running.stop()
    await ctx.close()
  })

  it('reports refused files on errors and in import_outcomes, and counts rejected rows by code', async () => {
    const secret = join(await mkdtemp(join(tmpdir(), 'stockflow-outside-')), 'x.csv')
    await writeFile(secret, `${HEADER}\n`)
    await writeFile(join(inputDir, 'nocols.csv'), 'transaction_id,event_type\nx,y\n')
    await writeFile(join(inputDir, 'empty.csv'), '')
    await symlink(secret, join(inputDir, 'link.csv'))
    await writeFile(
      join(inputDir, 'rows.csv'),
      [
        HEADER,
        'bad-id,incoming,2024-01-01T00:00:00Z,1,1,5',
        '3a0d2c1e-5f6a-4b7c-8d9e-0f1a2b3c4d5e,incoming,2024-01-01T00:00:00Z,1,1,0',
        '4a0d2c1e-5f6a-4b7c-8d9e-0f1a2b3c4d5e,incoming,2024-01-01T00:00:00Z,1,1,-2',
        '5a0d2c1e-5f6a-4b7c-8d9e-0f1a2b3c4d5e,incoming,2024-01-01T00:00:00Z,1,1,7',
      ].join('\n'),
    )
    await pollUntil(
      'four outcomes',
      async () => (await ctx.sql`select count(*)::int as n from import_outcomes`)[0]?.n === 4,
      { timeoutMs: 60_000 },
    )
    const outcomes = await ctx.sql`
      select file_name, status, code, rows_accepted, rows_rejected, rejected_by_code from import_outcomes order by file_name`
    expect(outcomes.map((o) => [o.file_name, o.status, o.code, o.rows_accepted, o.rows_rejected])).toEqual([
      ['empty.csv', 'failed', 'EMPTY_FILE', 0, 0],
      ['link.csv', 'failed', 'SYMLINK', 0, 0],
      ['nocols.csv', 'failed', 'MISSING_COLUMNS', 0, 0],
      ['rows.csv', 'processed', null, 1, 3],
    ])
    expect(outcomes[3]?.rejected_by_code).toEqual({ INVALID_UUID: 1, INVALID_QUANTITY: 2 })

    const errors = await readTopic<StockError>(ctx, kafka, ctx.config.topics.errors, 'StockError', 6)
    const fileLevel = errors
      .filter((e) => e.value.source_line === null)
      .map((e) => [e.value.source_file, e.value.code])
    expect(fileLevel.sort()).toEqual([
      ['empty.csv', 'EMPTY_FILE'],
      ['link.csv', 'SYMLINK'],
      ['nocols.csv', 'MISSING_COLUMNS'],
    ])
    expect(errors.every((e) => e.value.stage === 'import')).toBe(true)
    const receipt = JSON.parse(await readFile(join(inputDir, 'processed', 'rows.csv.receipt.json'), 'utf8'))
    expect(receipt.rejected_by_code).toEqual({ INVALID_UUID: 1, INVALID_QUANTITY: 2 })

    const stats = await collectStats(ctx.env)
    expect(stats.import_rejections).toEqual({
      rows_by_code: { INVALID_QUANTITY: 2, INVALID_UUID: 1 },
      files_by_code: { EMPTY_FILE: 1, MISSING_COLUMNS: 1, SYMLINK: 1 },
    })
  })
})
