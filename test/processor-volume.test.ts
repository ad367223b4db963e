// Volume edge: thousands of sales parked at once, retried on schedule, then covered by one incoming.
// Multi-row statements past Postgres's 65,535 bind parameters used to fail here and stall the processor.

import type { Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RenewableProducer } from '../lib/kafka.ts'
import type { Processor } from '../processor/processor.ts'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { connectProducer, encoders, setupTopics } from './support/kafka.ts'
import { movement, produceMovements, startProcessor } from './support/processor.ts'

describe('processor under a large parking lot', () => {
  let ctx: TestContext
  let kafka: Kafka
  let producer: RenewableProducer
  let processor: Processor

  beforeAll(async () => {
    ctx = await createTestContext('volume', {
      EVENTS_PARTITIONS: '1',
      PROCESS_RETRY_SCHEDULE_MS: '50',
      PROCESS_MAX_ATTEMPTS: '1000',
      PROCESS_RETRY_POLL_MS: '50',
    })
    kafka = await setupTopics(ctx)
    producer = await connectProducer(kafka)
    processor = await startProcessor(ctx, producer)
  })
  afterAll(async () => {
    await processor.stop()
    await producer.disconnect()
    await ctx.close()
  })

  it('parks 6,000 sales, keeps retrying them, and applies them all when stock arrives', async () => {
    const enc = (await encoders(ctx)).movements
    const sales = Array.from({ length: 6000 }, () => movement('sale', 40, 1, 1))
    await produceMovements(producer, ctx.config.topics.events, enc, sales)
    await pollUntil(
      'all parked',
      async () => {
        const [r] = await ctx.sql`select count(*)::int as n from parked_sales`
        return r?.n === 6000
      },
      { timeoutMs: 60_000 },
    )
    // The scheduled retries have run over the whole lot at least once.
    await pollUntil(
      'retried',
      async () => {
        const [r] = await ctx.sql`select min(attempts)::int as a from parked_sales`
        return (r?.a ?? 0) >= 2
      },
      { timeoutMs: 60_000 },
    )

    await produceMovements(producer, ctx.config.topics.events, enc, [movement('incoming', 40, 1, 6500)])
    await pollUntil(
      'all applied',
      async () => {
        const [r] =
          await ctx.sql`select quantity from stock_levels where store_number = 40 and item_number = 1`
        return r?.quantity === 500
      },
      { timeoutMs: 60_000 },
    )
    const [j] = await ctx.sql`select count(*)::int as n from stock_journal`
    expect(j?.n).toBe(6001)
    expect(await ctx.sql`select 1 from parked_sales`).toHaveLength(0)
    expect(await ctx.sql`select 1 from failed_movements`).toHaveLength(0)
  })
})
