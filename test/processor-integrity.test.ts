// Inputs the chaos generator never made: each one stopped, stalled or fooled the processor before.
// Against the real broker, registry and Postgres.
import type { IHeaders, Kafka, Producer } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSql, type Sql } from '../lib/db.ts'
import type { Encoder } from '../lib/registry.ts'
import { runOffsets } from '../ops/offsets.ts'
import type { Processor } from '../processor/processor.ts'
import type { StockError, StockMovement } from '../schemas/contract.ts'
import { SOURCE_FILE_HEADER, SOURCE_LINE_HEADER } from '../schemas/headers.ts'
import { createTestContext, pollUntil, type TestContext, uniqueName } from './support/context.ts'
import { connectProducer, encoders, readTopic, setupTopics } from './support/kafka.ts'
import { movement, startProcessor } from './support/processor.ts'

interface Rig {
  ctx: TestContext
  kafka: Kafka
  producer: Producer
  enc: Encoder<StockMovement>
  processor: Processor
  send(items: { m: StockMovement; key?: string; headers?: IHeaders; partition?: number }[]): Promise<void>
  level(store: number, item: number): Promise<number | undefined>
  caughtUp(): Promise<boolean>
  close(): Promise<void>
}

async function rig(
  prefix: string,
  opts: { sql?: (ctx: TestContext) => Sql; fatal?: unknown[] } = {},
): Promise<Rig> {
  const ctx = await createTestContext(prefix, {
    PROCESS_RETRY_SCHEDULE_MS: '60000',
    PROCESS_MAX_ATTEMPTS: '5',
    OUTBOX_POLL_MS: '50',
  })
  const kafka = await setupTopics(ctx)
  const producer = await connectProducer(kafka)
  const enc = (await encoders(ctx)).movements
  const sql = opts.sql?.(ctx)
  const processor = await startProcessor(ctx, producer, {
    sql,
    onFatal: (err) => opts.fatal?.push(err),
  })
  return {
    ctx,
    kafka,
    producer,
    enc,
    processor,
    async send(items) {
      await producer.send({
        topic: ctx.config.topics.events,
        acks: -1,
        messages: items.map(({ m, key, headers, partition }) => ({
          key: key ?? `${m.store_number}:${m.item_number}`,
          partition,
          value: enc.encode(m),
          headers,
        })),
      })
    },
    async level(store, item) {
      const [row] =
        await ctx.sql`select quantity from current_stock where store_number = ${store} and item_number = ${item}`
      return row?.quantity as number | undefined
    },
    async caughtUp() {
      const admin = kafka.admin()
      await admin.connect()
      const high = (await admin.fetchTopicOffsets(ctx.config.topics.events)).reduce(
        (n, p) => n + Number(p.high),
        0,
      )
      await admin.disconnect()
      const [row] = await ctx.sql`select coalesce(sum(next_offset), 0)::bigint as n from consumer_offsets`
      return row?.n === high
    },
    async close() {
      await processor.stop()
      await producer.disconnect()
      await sql?.end({ timeout: 5 })
      await ctx.close()
    },
  }
}

describe('processor integrity: messages that decode but are not movements', () => {
  let r: Rig
  beforeAll(async () => {
    r = await rig('integrity_invalid')
    // A value the contract allows but this database refuses: the last line of defence must isolate it.
    await r.ctx.sql`alter table stock_journal add constraint test_refuses_item_666 check (item_number <> 666)`
  })
  afterAll(() => r.close())

  it('sends each to errors with its offset and reason, applies the rest in order, and never overflows stock', async () => {
    const key = '1:1'
    const partition = 0
    const line = (n: string) => ({ [SOURCE_FILE_HEADER]: 'f.csv', [SOURCE_LINE_HEADER]: n })
    const big = 2 ** 31 - 1
    await r.send([
      { m: movement('incoming', 1, 1, 10), key, partition },
      { m: { ...movement('incoming', 1, 1, 5), transaction_id: 'not-a-uuid' }, key, partition },
      { m: movement('incoming', 1, 1, 0), key, partition },
      { m: movement('sale', 1, 1, 3), key, partition, headers: line('1.5') },
      { m: movement('incoming', 1, 2, big), key, partition },
      { m: movement('incoming', 1, 2, big), key, partition },
      { m: movement('sale', 1, 1, 4), key, partition, headers: line('7') },
      { m: movement('incoming', 1, 666, 5), key, partition },
      { m: movement('incoming', 1, 1, 1), key, partition },
    ])
    await pollUntil('all nine offsets applied', () => r.caughtUp(), { timeoutMs: 60_000 })
    expect([await r.level(1, 1), await r.level(1, 2), await r.level(1, 666)]).toEqual([7, 2 * big, undefined])
    const rejected = await r.ctx
      .sql`select "offset", code, reason from rejected_messages where partition = 0 order by "offset"`
    expect(rejected.map((x) => [x.offset, x.code])).toEqual([
      [1, 'INVALID_MOVEMENT'],
      [2, 'INVALID_MOVEMENT'],
      [3, 'INVALID_MOVEMENT'],
      [7, 'APPLY_REFUSED'],
    ])
    expect(rejected.map((x) => (x.reason as string).split(':')[0])).toEqual([
      'INVALID_UUID',
      'INVALID_QUANTITY',
      'INVALID_PROVENANCE',
      'Postgres refused this message',
    ])
    const errors = await readTopic<StockError>(r.ctx, r.kafka, r.ctx.config.topics.errors, 'StockError', 4)
    expect(errors.map((e) => [e.value.code, e.value.offset, e.value.topic]).sort()).toEqual([
      ['APPLY_REFUSED', '7', r.ctx.config.topics.events],
      ['INVALID_MOVEMENT', '1', r.ctx.config.topics.events],
      ['INVALID_MOVEMENT', '2', r.ctx.config.topics.events],
      ['INVALID_MOVEMENT', '3', r.ctx.config.topics.events],
    ])
    const journal = await r.ctx.sql`select count(*)::int as n from stock_journal`
    expect(journal[0]?.n).toBe(5)
  })
})

describe('processor integrity: offsets with gaps', () => {
  let r: Rig
  beforeAll(async () => {
    r = await rig('integrity_gaps')
  })
  afterAll(() => r.close())

  it('applies committed transactional writes, drops aborted ones, and moves past the markers', async () => {
    const tx = r.kafka.producer({
      transactionalId: uniqueName('tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    })
    await tx.connect()
    const topic = r.ctx.config.topics.events
    const one = (m: StockMovement) => ({
      topic,
      messages: [{ key: '2:1', partition: 0, value: r.enc.encode(m) }],
    })
    try {
      let t = await tx.transaction()
      await t.send(one(movement('incoming', 2, 1, 5)))
      await t.commit()
      t = await tx.transaction()
      await t.send(one(movement('incoming', 2, 1, 100)))
      await t.abort()
      await r.send([{ m: movement('incoming', 2, 1, 1), partition: 0 }])
      t = await tx.transaction()
      await t.send(one(movement('incoming', 2, 1, 2)))
      await t.commit()
    } finally {
      await tx.disconnect()
    }
    // Partition 0 holds: 0 committed, 1 marker, 2 aborted, 3 marker, 4 plain, 5 committed, 6 marker.
    const stored = async () => {
      const [row] = await r.ctx.sql`select next_offset from consumer_offsets where partition = 0`
      return row?.next_offset as number | undefined
    }
    await pollUntil('the last committed record applied', async () => (await stored()) === 6, {
      timeoutMs: 30_000,
    })
    const admin = r.kafka.admin()
    await admin.connect()
    const [p0] = (await admin.fetchTopicOffsets(topic)).filter((p) => p.partition === 0)
    await admin.disconnect()
    expect(p0?.high).toBe('7')
    expect(await r.level(2, 1)).toBe(8)
    const [j] = await r.ctx.sql`select count(*)::int as n from stock_journal`
    expect(j?.n).toBe(3)
    // The ledger stays at the record after the last applied one (6): the marker at 6 is nothing to apply,
    // and `stockflow offsets` says the partition is caught up, not behind for ever.
    const partition0 = async () => {
      const lines: string[] = []
      await runOffsets(['--json'], r.ctx.env, (l) => lines.push(l))
      const p = (JSON.parse(lines[0]!) as { partitions: { partition: number; state: string }[] }).partitions
      return p.find((x) => x.partition === 0)
    }
    const row = await pollUntil('partition 0 caught up', async () => {
      const p = await partition0()
      return p?.state === 'ok' ? p : undefined
    })
    expect(row).toEqual({ partition: 0, stored: 6, logStart: 0, logEnd: 7, state: 'ok' })
    expect(await stored()).toBe(6)
  })

  it('is not behind after a transaction that was aborted last', async () => {
    const topic = r.ctx.config.topics.events
    /** Writes one movement to partition 1 in a transaction of its own, then aborts it. */
    const aborted = async (m: StockMovement) => {
      const tx = r.kafka.producer({
        transactionalId: uniqueName('tx'),
        idempotent: true,
        maxInFlightRequests: 1,
      })
      await tx.connect()
      try {
        const t = await tx.transaction()
        await t.send({ topic, messages: [{ key: '2:2', partition: 1, value: r.enc.encode(m) }] })
        await t.abort()
      } finally {
        await tx.disconnect()
      }
    }
    await aborted(movement('incoming', 2, 2, 9))
    await r.send([{ m: movement('incoming', 2, 2, 1), partition: 1 }])
    await aborted(movement('incoming', 2, 2, 50))
    // Partition 1 ends with an aborted transaction: its record and its marker can never be applied.
    await pollUntil('the plain record applied', async () => (await r.level(2, 2)) === 1)
    const state = async () => {
      const lines: string[] = []
      await runOffsets(['--json'], r.ctx.env, (l) => lines.push(l))
      return (
        JSON.parse(lines[0]!) as {
          partitions: { partition: number; state: string; stored: number; logEnd: number }[]
        }
      ).partitions.find((x) => x.partition === 1)
    }
    const p1 = await pollUntil('partition 1 caught up', async () => {
      const p = await state()
      return p?.state === 'ok' ? p : undefined
    })
    // The ledger's offset stays below the end: what lies between is the aborted record and its marker.
    expect(p1?.logEnd).toBe(5)
    expect(p1?.stored).toBeLessThan(5)
  })
})

describe('processor integrity: one transaction id on two partitions', () => {
  let r: Rig
  beforeAll(async () => {
    r = await rig('integrity_claims')
  })
  afterAll(() => r.close())

  it('parks one sale, records the other as a conflict, and loses neither, even when both are in flight at once', async () => {
    const first = movement('sale', 3, 1, 4)
    const second = { ...movement('sale', 3, 2, 9), transaction_id: first.transaction_id }
    // Hold the parking lot so both transactions get past their lookups before either commits.
    const gate = createSql({
      url: r.ctx.config.db.url,
      schema: r.ctx.config.db.schema,
      max: 1,
      name: 'test-gate',
    })
    try {
      await gate.begin(async (tx) => {
        await tx`lock table parked_sales in share mode`
        await r.send([
          { m: first, partition: 0 },
          { m: second, partition: 1 },
        ])
        await pollUntil(
          'both batches waiting on a lock',
          async () => {
            // Inside a transaction the activity view is a snapshot: clear it on every look.
            await tx`select pg_stat_clear_snapshot()`
            const [w] = await tx`
              select count(*)::int as n from pg_stat_activity
              where wait_event_type = 'Lock' and application_name = 'test-integrity_claims'`
            return (w?.n as number) >= 2
          },
          { timeoutMs: 30_000 },
        )
      })
    } finally {
      await gate.end({ timeout: 5 })
    }
    await pollUntil('both messages applied', () => r.caughtUp(), { timeoutMs: 30_000 })
    const parked = await r.ctx.sql`select item_number, quantity from parked_sales`
    const conflicts = await r.ctx
      .sql`select (conflicting_payload->>'quantity')::int as q from transaction_conflicts`
    expect(parked.length + conflicts.length).toBe(2)
    expect(parked).toHaveLength(1)
    const kept = parked[0]!.quantity as number
    expect(conflicts.map((c) => c.q)).toEqual([kept === 4 ? 9 : 4])
    const errors = await readTopic<StockError>(r.ctx, r.kafka, r.ctx.config.topics.errors, 'StockError', 1)
    expect(errors.map((e) => [e.value.code, e.value.movement?.transaction_id])).toEqual([
      ['TRANSACTION_CONFLICT', first.transaction_id],
    ])
  })
})

describe('processor integrity: timeouts', () => {
  let r: Rig
  const fatal: unknown[] = []
  beforeAll(async () => {
    r = await rig('integrity_timeouts', {
      fatal,
      sql: (ctx) =>
        createSql({
          url: ctx.config.db.url,
          schema: ctx.config.db.schema,
          max: 4,
          name: 'test-timeouts',
          settings: { statement_timeout: '300ms' },
        }),
    })
  })
  afterAll(() => r.close())

  it('backs off and retries a statement timeout, then applies, without exiting', async () => {
    await r.send([{ m: movement('incoming', 4, 1, 3) }])
    await pollUntil('first movement applied', async () => (await r.level(4, 1)) === 3)
    const holder = createSql({
      url: r.ctx.config.db.url,
      schema: r.ctx.config.db.schema,
      max: 1,
      name: 'test-holder',
    })
    try {
      await holder.begin(async (tx) => {
        await tx`select 1 from stock_levels where store_number = 4 and item_number = 1 for update`
        await r.send([{ m: movement('incoming', 4, 1, 2) }])
        // A new query_start on the waiting backend means the last statement timed out and was retried.
        const starts = new Set<string>()
        await pollUntil(
          'a timed-out apply retried at least once',
          async () => {
            await tx`select pg_stat_clear_snapshot()`
            const rows = await tx`
              select query_start from pg_stat_activity
              where application_name = 'test-timeouts' and wait_event_type = 'Lock'`
            for (const row of rows) starts.add(String(row.query_start))
            return starts.size >= 2
          },
          { timeoutMs: 20_000, intervalMs: 50 },
        )
      })
    } finally {
      await holder.end({ timeout: 5 })
    }
    await pollUntil('second movement applied after the lock went', async () => (await r.level(4, 1)) === 5, {
      timeoutMs: 30_000,
    })
    expect(fatal).toEqual([])
  })
})
