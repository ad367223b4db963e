// Files that used to lose rows, stall the importer or crash-loop it, each through the real importer on the
// real stack: every line ends published or rejected under its own number, and the next file still goes in.
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Kafka, Partitioners } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Receipt } from '../ledger/input-folder.ts'
import { createKafka } from '../lib/kafka.ts'
import type { StockMovement } from '../schemas/contract.ts'
import { SOURCE_LINE_HEADER } from '../schemas/headers.ts'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { type RunningImporter, startImporter } from './support/importer.ts'
import { readTopic, setupTopics } from './support/kafka.ts'

const HEADER = 'transaction_id,event_type,date,store_number,item_number,value'
const id = (file: number, row: number) =>
  `${String(file).padStart(8, '0')}-0000-4000-8000-${String(row).padStart(12, '0')}`
const row = (file: number, n: number, extra?: string) =>
  `${id(file, n)},incoming,2024-01-01T00:00:00Z,${file},${n},1${extra === undefined ? '' : `,${extra}`}`

/** Creates `topic` with the broker refusing any batch over `maxBytes`, before the importer creates it. */
async function topicWithLimit(ctx: TestContext, topic: string, partitions: number, maxBytes: number) {
  const admin = createKafka(ctx.config.kafka, ctx.log).admin()
  await admin.connect()
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic,
        numPartitions: partitions,
        configEntries: [{ name: 'max.message.bytes', value: String(maxBytes) }],
      },
    ],
  })
  await admin.disconnect()
}

async function receiptIn(dir: string, match: (name: string) => boolean): Promise<Receipt> {
  return pollUntil(
    'a receipt',
    async () => {
      const name = (await readdir(dir)).find((n) => n.endsWith('.receipt.json') && match(n))
      return name ? (JSON.parse(await readFile(join(dir, name), 'utf8')) as Receipt) : undefined
    },
    { timeoutMs: 90_000 },
  )
}

describe('hostile files through the real importer', () => {
  let ctx: TestContext
  let kafka: Kafka
  let running: RunningImporter
  let input: string

  beforeAll(async () => {
    input = await mkdtemp(join(tmpdir(), 'stockflow-hostile-'))
    ctx = await createTestContext('hostile', { INPUT_DIR: input, IMPORT_SETTLE_MS: '100' })
    kafka = await setupTopics(ctx)
    running = await startImporter(ctx)
  })
  afterAll(async () => {
    await running?.stop()
    await ctx?.close()
  })

  it('publishes or rejects every row between two stray quotes, each under its own line', async () => {
    const lines = [
      `${HEADER},note`,
      row(1, 1, '12" pipe'),
      row(1, 2, 'a'),
      row(1, 3, 'b'),
      row(1, 4, 'c'),
      row(1, 5, '6" nail'),
      row(1, 6, 'd'),
    ]
    await writeFile(join(input, 'stray.csv'), `${lines.join('\n')}\n`)
    const r = await receiptIn(join(input, 'processed'), (n) => n === 'stray.csv.receipt.json')
    expect([r.rows_read, r.rows_accepted, r.rows_rejected]).toEqual([6, 4, 2])
    expect(r.rejections.map((x) => [x.line, x.code])).toEqual([
      [2, 'MALFORMED_QUOTES'],
      [6, 'MALFORMED_QUOTES'],
    ])
    const events = await readTopic<StockMovement>(ctx, kafka, ctx.config.topics.events, 'StockMovement', 2)
    expect(events.map((e) => Number(e.headers[SOURCE_LINE_HEADER])).sort()).toEqual([3, 4, 5, 7])
    expect(events.map((e) => e.value.transaction_id).sort()).toEqual([2, 3, 4, 6].map((n) => id(1, n)))
  })

  it('re-reads the lines an open quote swallowed before an over-long row', async () => {
    const lines = [
      `${HEADER},note`,
      row(2, 1, '12" pipe'),
      row(2, 2, 'a'),
      row(2, 3, 'x'.repeat(300_000)),
      row(2, 4, 'b'),
    ]
    await writeFile(join(input, 'stray-long.csv'), `${lines.join('\n')}\n`)
    const r = await receiptIn(join(input, 'processed'), (n) => n === 'stray-long.csv.receipt.json')
    expect(r.rejections.map((x) => [x.line, x.code])).toEqual([
      [2, 'MALFORMED_QUOTES'],
      [4, 'ROW_TOO_LARGE'],
    ])
    expect([r.rows_read, r.rows_accepted]).toEqual([4, 2])
  })

  it('imports a file whose name is not UTF-8 under a readable name, instead of ignoring it for ever', async () => {
    // Lager_Müller.csv written by a Windows-1252 system: ü is the single byte 0xfc.
    const name = Buffer.concat([
      Buffer.from(`${input}/Lager_M`),
      Buffer.from([0xfc]),
      Buffer.from('ller.csv'),
    ])
    await writeFile(name, `${HEADER}\n${row(3, 1)}\n`)
    const r = await receiptIn(join(input, 'processed'), (n) => n.startsWith('Lager_'))
    expect([r.file, r.status, r.rows_accepted]).toEqual(['Lager_Müller.csv', 'processed', 1])
    // No name is left that is not UTF-8.
    const names = await readdir(input, { encoding: 'buffer' })
    expect(names.filter((b) => !Buffer.from(b.toString()).equals(b))).toEqual([])
  })

  it('imports a file whose name leaves no room for the suffixes of its outputs, and goes on', async () => {
    const long = `${'L'.repeat(240)}.csv`
    await writeFile(
      join(input, long),
      `${HEADER}\n${row(6, 1)}\nnot-a-uuid,sale,2024-01-01T00:00:00Z,6,1,1\n`,
    )
    const r = await receiptIn(join(input, 'processed'), (n) => n.startsWith('LLLL'))
    expect([r.file, r.status, r.rows_accepted, r.rows_rejected]).toEqual([long, 'processed', 1, 1])
    const rejected = await readFile(join(input, 'processed', r.rejected_csv!), 'utf8')
    expect(rejected).toContain('not-a-uuid')
    const names = (await readdir(join(input, 'processed'))).filter((n) => n.startsWith('LLLL'))
    expect(names).toHaveLength(3)
    expect(names).toContain(long)
    expect(names).toContain(r.rejected_csv)
    expect(names.every((n) => Buffer.byteLength(n) <= 255)).toBe(true)
    await writeFile(join(input, 'after-long.csv'), `${HEADER}\n${row(7, 1)}\n`)
    const next = await receiptIn(join(input, 'processed'), (n) => n === 'after-long.csv.receipt.json')
    expect(next.rows_accepted).toBe(1)
  })
})

describe('the importer under its 48 MB heap', () => {
  it('imports a file of 110 quarter-megabyte malformed fields without running out of heap', async () => {
    const input = await mkdtemp(join(tmpdir(), 'stockflow-heap-'))
    const ctx = await createTestContext('heap', {
      INPUT_DIR: input,
      IMPORT_SETTLE_MS: '100',
      IMPORTER_PORT: '0',
    })
    const main = new URL('../importer/main.ts', import.meta.url).href
    const child = spawn(
      process.execPath,
      [
        '--max-old-space-size=48',
        '--max-semi-space-size=2',
        '--eval',
        `import(${JSON.stringify(main)}).then((m) => m.main())`,
      ],
      { env: { ...process.env, ...ctx.env, LOG_LEVEL: 'error' }, stdio: ['ignore', 'inherit', 'inherit'] },
    )
    let exit: string | undefined
    child.once('exit', (code, signal) => {
      exit = `${code ?? signal}`
    })
    try {
      const big = 'x'.repeat(250_000)
      const rows: string[] = []
      for (let i = 1; i <= 1110; i++)
        rows.push(i % 10 === 0 && i <= 1100 ? `${row(8, i)},${big}"b"` : `${row(8, i)},ok`)
      await writeFile(join(input, 'big-fields.csv'), `${HEADER},note\n${rows.join('\n')}\n`)
      const r = await pollUntil(
        'the receipt of big-fields.csv',
        async () => {
          if (exit !== undefined) throw new Error(`the importer exited with ${exit}`)
          return JSON.parse(
            await readFile(join(input, 'processed', 'big-fields.csv.receipt.json'), 'utf8').catch(
              () => 'null',
            ),
          ) as Receipt | null
        },
        { timeoutMs: 120_000 },
      )
      expect([r.rows_read, r.rows_accepted, r.rows_rejected, r.rejected_by_code]).toEqual([
        1110,
        1000,
        110,
        { MALFORMED_QUOTES: 110 },
      ])
      expect(Math.max(...r.rejections.map((x) => x.message.length))).toBeLessThanOrEqual(200)
      expect(exit).toBeUndefined()
    } finally {
      child.kill('SIGTERM')
      await ctx.close()
    }
  })
})

describe('produce requests bounded by bytes', () => {
  const dropAndWait = async (dir: string, name: string, text: string, state = 'processed') => {
    await writeFile(join(dir, name), text)
    return receiptIn(join(dir, state), (n) => n === `${name}.receipt.json`)
  }

  it('sends 1,000 rejections of 4 KB each, all keyed by one file, and then the next file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stockflow-bytes-'))
    // A long linger, so that a request holds as many rows as IMPORT_BATCH_ROWS lets it.
    const ctx = await createTestContext('bytes', {
      INPUT_DIR: dir,
      IMPORT_SETTLE_MS: '100',
      IMPORT_LINGER_MS: '5000',
    })
    const running = await startImporter(ctx)
    try {
      const note = 'n'.repeat(4096)
      const rows = Array.from(
        { length: 1000 },
        (_, i) => `${id(4, i + 1)},sale,01/02/2024 10:00,4,${i + 1},1,${note}`,
      )
      const r = await dropAndWait(dir, 'notes.csv', `${HEADER},note\n${rows.join('\n')}\n`)
      expect([r.status, r.rows_read, r.rows_rejected, r.rejected_by_code]).toEqual([
        'processed',
        1000,
        1000,
        { INVALID_DATE: 1000 },
      ])
      const next = await dropAndWait(dir, 'after-notes.csv', `${HEADER}\n${row(5, 1)}\n`)
      expect(next.rows_accepted).toBe(1)
    } finally {
      await running.stop()
      await ctx.close()
    }
  })

  it('fails a file the broker refuses for good, visibly, and goes on with the next one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stockflow-refused-'))
    const ctx = await createTestContext('refused', {
      INPUT_DIR: dir,
      IMPORT_SETTLE_MS: '100',
      IMPORT_LINGER_MS: '5000',
      IMPORT_BATCH_BYTES: '16384',
    })
    // A broker whose limit is below the importer's request size: every full request is MESSAGE_TOO_LARGE.
    await topicWithLimit(ctx, ctx.config.topics.events, 1, 4096)
    const running = await startImporter(ctx)
    try {
      const rows = Array.from({ length: 200 }, (_, i) => row(9, i + 1))
      const r = await dropAndWait(dir, 'refused.csv', `${HEADER}\n${rows.join('\n')}\n`, 'failed')
      expect([r.status, r.error?.code]).toEqual(['failed', 'PUBLISH_REFUSED'])
      expect(r.error?.message).toContain('MESSAGE_TOO_LARGE')
      const [outcome] =
        await ctx.sql`select status, code from import_outcomes where file_name = 'refused.csv'`
      expect(outcome).toEqual({ status: 'failed', code: 'PUBLISH_REFUSED' })
      const next = await dropAndWait(dir, 'small.csv', `${HEADER}\n${row(10, 1)}\n`)
      expect(next.rows_accepted).toBe(1)
      expect(await readdir(join(dir, 'processing'))).toEqual([])
    } finally {
      await running.stop()
      await ctx.close()
    }
  })

  it('after a refused request, the rows of the next file are written, not dropped as duplicates of it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stockflow-refused-seq-'))
    const ctx = await createTestContext('refused_seq', {
      INPUT_DIR: dir,
      IMPORT_SETTLE_MS: '100',
      IMPORT_LINGER_MS: '5000',
      IMPORT_BATCH_BYTES: '16384',
    })
    // Two partitions of `events` that take no batch over 2 KB. One request carries one small row for one
    // partition, which the broker writes, and forty rows for the other, which it refuses; kafkajs then rolls
    // back the sequence numbers of both partitions.
    await topicWithLimit(ctx, ctx.config.topics.events, 2, 2048)
    const kafka = createKafka(ctx.config.kafka, ctx.log)
    const partitioner = Partitioners.DefaultPartitioner()
    const meta = [0, 1].map((p) => ({ partitionId: p, leader: 0 }))
    const partitionOf = (item: number) =>
      partitioner({
        topic: 'x',
        partitionMetadata: meta as never,
        message: { key: `13:${item}`, value: null },
      })
    const small = 1
    let big = 2
    while (partitionOf(big) === partitionOf(small)) big++
    const running = await startImporter(ctx)
    try {
      const rowOf = (file: number, n: number, item: number) =>
        `${id(file, n)},incoming,2024-01-01T00:00:00Z,13,${item},1`
      const first = [rowOf(13, 1, small), ...Array.from({ length: 40 }, (_, i) => rowOf(13, i + 2, big))]
      const r1 = await dropAndWait(dir, 'first.csv', `${HEADER}\n${first.join('\n')}\n`, 'failed')
      expect(r1.error?.code).toBe('PUBLISH_REFUSED')
      const r2 = await dropAndWait(dir, 'second.csv', `${HEADER}\n${rowOf(14, 1, small)}\n`)
      expect(r2.rows_accepted).toBe(1)
      const a = kafka.admin()
      await a.connect()
      const written = (await a.fetchTopicOffsets(ctx.config.topics.events)).reduce(
        (n, p) => n + Number(p.high),
        0,
      )
      await a.disconnect()
      const events = await readTopic<StockMovement>(
        ctx,
        kafka,
        ctx.config.topics.events,
        'StockMovement',
        written,
      )
      expect(events.map((e) => e.value.transaction_id)).toContain(id(14, 1))
    } finally {
      await running.stop()
      await ctx.close()
    }
  })
})
