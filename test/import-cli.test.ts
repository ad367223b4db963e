// `stockflow import FILE` (one-shot) against the real broker and registry: a file refused as a whole is
// reported on `errors` as the watcher reports it, with the file's name and code, and nothing else is sent.
import { access, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ITEM_FILE_REFUSAL, runImportCli } from '../importer/import-cli.ts'
import type { Receipt } from '../ledger/input-folder.ts'
import type { StockError } from '../schemas/contract.ts'
import { SOURCE_FILE_HEADER } from '../schemas/headers.ts'
import { createTestContext, type TestContext } from './support/context.ts'
import { readTopic, setupTopics } from './support/kafka.ts'

describe('stockflow import (one-shot)', () => {
  let ctx: TestContext
  let kafka: Kafka
  let dir: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stockflow-import-cli-'))
    ctx = await createTestContext('import_cli')
    kafka = await setupTopics(ctx)
  })
  afterAll(async () => {
    await ctx?.close()
  })

  it('puts one MISSING_COLUMNS error naming the file on errors, and nothing on events', async () => {
    const file = join(dir, 'no-value.csv')
    await writeFile(
      file,
      'transaction_id,event_type,date,store_number,item_number\n' +
        '8947695b-7f19-44b6-96b6-7f8ed041fe57,incoming,2024-01-01T00:00:00Z,5,12\n',
    )
    expect(await runImportCli([file], ctx.env)).toBe(1)

    const errors = await readTopic<StockError>(ctx, kafka, ctx.config.topics.errors, 'StockError', 1)
    expect(errors).toHaveLength(1)
    const [e] = errors
    expect(e!.key).toBe('no-value.csv')
    expect(e!.headers[SOURCE_FILE_HEADER]).toBe('no-value.csv')
    expect([e!.value.stage, e!.value.code, e!.value.source_file, e!.value.source_line]).toEqual([
      'import',
      'MISSING_COLUMNS',
      'no-value.csv',
      null,
    ])
    expect(e!.value.message).toMatch(
      /^file no-value\.csv was not imported: missing required column\(s\): value;/,
    )

    const admin = kafka.admin()
    await admin.connect()
    const events = await admin.fetchTopicOffsets(ctx.config.topics.events)
    await admin.disconnect()
    expect(events.reduce((n, p) => n + Number(p.high), 0)).toBe(0)

    const receipt = JSON.parse(await readFile(`${file}.receipt.json`, 'utf8')) as Receipt
    expect([receipt.status, receipt.error?.code]).toEqual(['failed', 'MISSING_COLUMNS'])
  })

  it('refuses an item file with exit 1 and says the watching importer loads it; nothing is sent or written', async () => {
    const file = join(dir, 'items.csv')
    await writeFile(file, 'item_number,name,unit\n12,Bolt M6,pcs\n')
    const said: string[] = []
    const spy = vi.spyOn(console, 'error').mockImplementation((line: string) => void said.push(line))
    try {
      expect(await runImportCli([file], ctx.env)).toBe(1)
    } finally {
      spy.mockRestore()
    }
    expect(said).toEqual([`${file}: not imported: ${ITEM_FILE_REFUSAL}`])
    await expect(access(`${file}.receipt.json`)).rejects.toThrow()
    const admin = kafka.admin()
    await admin.connect()
    const offsets = await Promise.all(
      [ctx.config.topics.events, ctx.config.topics.errors].map((t) => admin.fetchTopicOffsets(t)),
    )
    await admin.disconnect()
    // The MISSING_COLUMNS error of the test before is the only message on either topic.
    expect(offsets.map((o) => o.reduce((n, p) => n + Number(p.high), 0))).toEqual([0, 1])
  })
})
