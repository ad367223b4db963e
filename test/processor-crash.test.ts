// SIGKILL the processor in the middle of ~50k events, restart it, and check the ledger is exact.

import { type ChildProcess, spawn } from 'node:child_process'
import type { Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RenewableProducer } from '../lib/kafka.ts'
import type { Encoder } from '../lib/registry.ts'
import type { LowStock, StockMovement } from '../schemas/contract.ts'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { connectProducer, encoders, readTopic, setupTopics } from './support/kafka.ts'
import { movement, produceMovements } from './support/processor.ts'

const BIN = new URL('../bin/commands.ts', import.meta.url).pathname

describe('processor crash', () => {
  let ctx: TestContext
  let kafka: Kafka
  let producer: RenewableProducer
  let enc: Encoder<StockMovement>
  let child: ChildProcess | undefined

  const startChild = () => {
    const c = spawn(process.execPath, [BIN, 'processor'], {
      env: { ...process.env, ...ctx.env, PROCESSOR_PORT: '0', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    })
    child = c
    return c
  }

  beforeAll(async () => {
    ctx = await createTestContext('crash', { EVENTS_PARTITIONS: '4', LOW_STOCK_DEFAULT: '50' })
    kafka = await setupTopics(ctx)
    producer = await connectProducer(kafka)
    enc = (await encoders(ctx)).movements
  })
  afterAll(async () => {
    child?.kill('SIGKILL')
    await producer.disconnect()
    await ctx.close()
  })

  it('applies every unique transaction exactly once across a SIGKILL and restart', async () => {
    // Per item: incomings first, then sales that never exceed them, so the final stock is exact
    // whatever the batching; every tenth movement is also sent twice.
    const expected = new Map<string, number>()
    const all: StockMovement[] = []
    for (let item = 1; item <= 200; item++) {
      let level = 0
      for (let i = 0; i < 100; i++) {
        const m = movement('incoming', 1, item, 10)
        level += 10
        all.push(m)
      }
      for (let i = 0; i < 140; i++) {
        const m = movement('sale', 1, item, 7)
        level -= 7
        all.push(m)
      }
      expected.set(`1:${item}`, level)
    }
    const unique = all.length
    const withDuplicates = all.flatMap((m, i) => (i % 10 === 0 ? [m, m] : [m]))
    for (let i = 0; i < withDuplicates.length; i += 5000) {
      await produceMovements(producer, ctx.config.topics.events, enc, withDuplicates.slice(i, i + 5000))
    }

    const first = startChild()
    await pollUntil(
      'a good part of the stream applied',
      async () => {
        const [r] = await ctx.sql`select count(*)::int as n from stock_journal`
        return (r?.n ?? 0) > unique / 4
      },
      { timeoutMs: 120_000, intervalMs: 20 },
    )
    first.kill('SIGKILL')
    await new Promise((r) => first.once('exit', r))
    const [mid] = await ctx.sql`select count(*)::int as n from stock_journal`
    expect(mid?.n).toBeLessThan(unique)

    const second = startChild()
    await pollUntil(
      'the whole stream applied',
      async () => {
        const [r] = await ctx.sql`select count(*)::int as n from stock_journal`
        return r?.n === unique
      },
      { timeoutMs: 180_000, intervalMs: 200 },
    )
    await pollUntil(
      'offsets at the end of every partition',
      async () => {
        const [r] = await ctx.sql`select coalesce(sum(next_offset), 0)::int as n from consumer_offsets`
        return r?.n === withDuplicates.length
      },
      { timeoutMs: 60_000 },
    )
    await pollUntil('outbox drained', async () => {
      const [r] = await ctx.sql`select count(*)::int as n from outbox where sent_at is null`
      return r?.n === 0
    })
    second.kill('SIGTERM')
    await new Promise((r) => second.once('exit', r))

    const levels = await ctx.sql`select store_number, item_number, quantity from stock_levels`
    expect(new Map(levels.map((l) => [`${l.store_number}:${l.item_number}`, l.quantity]))).toEqual(expected)
    const [journal] =
      await ctx.sql`select count(*)::int as n, count(distinct transaction_id)::int as d from stock_journal`
    expect(journal).toEqual({ n: unique, d: unique })
    expect(await ctx.sql`select 1 from parked_sales`).toHaveLength(0)

    // Every item crossed below 50 exactly once; each such outbox row reached the topic.
    const outbox = await ctx.sql`select payload->>'event_id' as id from outbox where schema_name = 'LowStock'`
    expect(outbox).toHaveLength(200)
    expect(new Set(outbox.map((o) => o.id)).size).toBe(200)
    const published = await readTopic<LowStock>(
      ctx,
      kafka,
      ctx.config.topics.lowStock,
      'LowStock',
      outbox.length,
    )
    expect(new Set(published.map((p) => p.value.event_id))).toEqual(new Set(outbox.map((o) => o.id)))
  })
})
