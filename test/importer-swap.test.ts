// The importer reads exactly the file it admitted: swapping the name for a symlink to a secret, right
// after the checks passed, must change nothing that is published, receipted or kept.
import { lstat, mkdtemp, readdir, readFile, rename, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Receipt } from '../ledger/input-folder.ts'
import type { StockMovement } from '../schemas/contract.ts'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { type RunningImporter, startImporter } from './support/importer.ts'
import { readTopic, setupTopics } from './support/kafka.ts'

const GOOD = [
  'transaction_id,event_type,date,store_number,item_number,value',
  '1b0d2c1e-5f6a-4b7c-8d9e-0f1a2b3c4d5e,incoming,2024-01-01T10:00:00Z,3,4,20',
  '2b0d2c1e-5f6a-4b7c-8d9e-0f1a2b3c4d5e,sale,2024-01-01T11:00:00Z,3,4,5',
].join('\n')
const SECRET = 'root:$6$not-for-your-eyes:19000:0:99999:7:::'

describe('importer: a name swapped after admission', () => {
  let ctx: TestContext
  let kafka: Kafka
  let running: RunningImporter
  let inputDir: string
  let secretPath: string
  let outside: string
  const swapped: string[] = []

  beforeAll(async () => {
    inputDir = await mkdtemp(join(tmpdir(), 'stockflow-swap-'))
    outside = await mkdtemp(join(tmpdir(), 'stockflow-secret-'))
    secretPath = join(outside, 'shadow')
    await writeFile(secretPath, `${GOOD.split('\n')[0]}\n${SECRET}\n`)
    ctx = await createTestContext('importer_swap', { INPUT_DIR: inputDir, IMPORT_SETTLE_MS: '100' })
    kafka = await setupTopics(ctx)
    running = await startImporter(ctx, {
      hooks: {
        // The dangerous moment: the checks have passed; now the name points somewhere else.
        admitted: async (path) => {
          await rename(path, join(outside, 'admitted-original.csv'))
          await symlink(secretPath, path)
          swapped.push(path)
        },
      },
    })
  })
  afterAll(async () => {
    await running.stop()
    await ctx.close()
  })

  it('publishes, receipts and keeps only the admitted bytes; the secret appears nowhere', async () => {
    await writeFile(join(inputDir, 'good.csv'), GOOD)
    const receipt = await pollUntil(
      'receipt',
      async () =>
        JSON.parse(await readFile(join(inputDir, 'processed', 'good.csv.receipt.json'), 'utf8')) as Receipt,
      { timeoutMs: 60_000 },
    )
    expect(swapped).toEqual([join(inputDir, 'good.csv')])
    expect(receipt).toMatchObject({ status: 'processed', rows_read: 2, rows_accepted: 2, rows_rejected: 0 })
    // What stays in processed/ is the admitted content, as a regular file, not the planted link. The
    // receipt is written first, the file moved after it.
    const kept = await pollUntil('the file in processed/', () =>
      readFile(join(inputDir, 'processed', 'good.csv'), 'utf8').catch(() => undefined),
    )
    expect(kept).toBe(GOOD)
    expect((await lstat(join(inputDir, 'processed', 'good.csv'))).isFile()).toBe(true)
    const processed = await readdir(join(inputDir, 'processed'))
    expect(processed.sort()).toEqual(['good.csv', 'good.csv.receipt.json'])
    const events = await readTopic<StockMovement>(ctx, kafka, ctx.config.topics.events, 'StockMovement', 2)
    expect(events.map((e) => e.value.quantity).sort()).toEqual([20, 5].sort())
    const [errorsHigh] = await (async () => {
      const admin = kafka.admin()
      await admin.connect()
      const offsets = await admin.fetchTopicOffsets(ctx.config.topics.errors)
      await admin.disconnect()
      return offsets.map((o) => Number(o.high))
    })()
    expect(errorsHigh).toBe(0)
    expect(JSON.stringify(receipt)).not.toContain('not-for-your-eyes')
  })
})
