// The outbox relay against the real broker: requests bounded by bytes, a row the broker refuses even alone
// sent clipped or set aside, and /readyz's view of a relay that keeps failing.
import type { Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RenewableProducer } from '../lib/kafka.ts'
import { createRegistry } from '../lib/registry.ts'
import { createOutboxRelay } from '../processor/outbox-relay.ts'
import type { Processor } from '../processor/processor.ts'
import type { LowStock, StockError } from '../schemas/contract.ts'
import { stockError } from '../schemas/payloads.ts'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { connectProducer, encoders, readTopic, setupTopics } from './support/kafka.ts'
import { movement, startProcessor } from './support/processor.ts'

describe('outbox relay', () => {
  let ctx: TestContext
  let kafka: Kafka
  let producer: RenewableProducer
  let processor: Processor

  beforeAll(async () => {
    ctx = await createTestContext('relay', { OUTBOX_POLL_MS: '50', LOW_STOCK_DEFAULT: '10' })
    kafka = await setupTopics(ctx)
    producer = await connectProducer(kafka)
    processor = await startProcessor(ctx, producer)
  })
  afterAll(async () => {
    await processor?.stop()
    await producer?.disconnect()
    await ctx?.close()
  })

  const unsent = async () =>
    (await ctx.sql`select count(*)::int as n from outbox where sent_at is null and parked_at is null`)[0]!
      .n as number

  it('relays 90 large undecodable messages of one key, and the low-stock event behind them', async () => {
    const junk = Buffer.alloc(12 * 1024, 0x41)
    for (let i = 0; i < 90; i += 30) {
      await producer.send({
        topic: ctx.config.topics.events,
        acks: -1,
        messages: Array.from({ length: 30 }, () => ({ key: '5:1', value: junk })),
      })
    }
    const enc = (await encoders(ctx)).movements
    await producer.send({
      topic: ctx.config.topics.events,
      acks: -1,
      messages: [
        { key: '5:1', value: enc.encode(movement('incoming', 5, 1, 20)) },
        { key: '5:1', value: enc.encode(movement('sale', 5, 1, 15)) },
      ],
    })
    const low = await readTopic<LowStock>(ctx, kafka, ctx.config.topics.lowStock, 'LowStock', 1)
    expect(low.map((l) => [l.value.store_number, l.value.item_number, l.value.quantity])).toEqual([[5, 1, 5]])
    const errors = await readTopic<StockError>(ctx, kafka, ctx.config.topics.errors, 'StockError', 90)
    expect(errors.filter((e) => e.value.code === 'UNDECODABLE')).toHaveLength(90)
    expect(Buffer.from(errors[0]!.value.raw_value_base64!, 'base64').length).toBe(4096)
    expect(await unsent()).toBe(0)
  })

  it('splits rows over a request by bytes, sends a row too large alone clipped, and sets aside what never fits', async () => {
    const admin = kafka.admin()
    await admin.connect()
    const tiny = `${ctx.id}.tiny`
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: tiny, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '1024' }] },
      ],
    })
    await admin.disconnect()
    const errorsTopic = ctx.config.topics.errors
    const row = (id: string, message: string) =>
      stockError({ error_id: id, stage: 'process', code: 'TEST', message }, Date.now())
    const insert = (topic: string, key: string, payload: StockError) =>
      ctx.sql`insert into outbox (topic, message_key, schema_name, payload)
              values (${topic}, ${key}, 'StockError', ${ctx.sql.json(payload as never)})`
    // 100 rows of 20 KB with one key: 2 MB for one partition, twice the broker's limit in one request.
    for (let i = 0; i < 100; i++) await insert(errorsTopic, 'bulk', row(`bulk-${i}`, 'b'.repeat(20_000)))
    await insert(errorsTopic, 'huge', row('huge', 'h'.repeat(2_000_000)))
    await insert(tiny, 'never', row('never', 'n'.repeat(5000)))
    await insert(errorsTopic, 'after', row('after', 'small'))
    await pollUntil('the outbox drained', async () => (await unsent()) === 0, { timeoutMs: 60_000 })
    const sent = await readTopic<StockError>(ctx, kafka, errorsTopic, 'StockError', 90 + 102)
    const ids = sent.map((e) => e.value.error_id)
    expect(ids.filter((id) => id.startsWith('bulk-'))).toHaveLength(100)
    // A refused request may have been written in part and is resent in halves: at least once, a few times at most.
    expect(ids.filter((id) => id === 'huge')).toEqual(['huge'])
    expect(ids.filter((id) => id === 'after').length).toBeGreaterThanOrEqual(1)
    expect(ids.filter((id) => id === 'after').length).toBeLessThanOrEqual(2)
    const huge = sent.find((e) => e.value.error_id === 'huge')!.value
    expect(huge.message).toMatch(/clipped to be sent; the whole error is outbox row \d+/)
    const [parked] = await ctx.sql`select sent_at, park_reason from outbox where message_key = 'never'`
    expect(parked).toEqual({
      sent_at: null,
      park_reason: 'the broker refused it (MESSAGE_TOO_LARGE) even alone',
    })
    const [backlog] = await ctx.sql`select outbox_unsent, outbox_parked from pipeline_backlog`
    expect(backlog).toEqual({ outbox_unsent: 0, outbox_parked: 1 })
  })
})

describe('a relay that keeps failing', () => {
  it('is reported as stalled once it has failed for longer than allowed, and no longer once it works', async () => {
    const ctx = await createTestContext('relay_stall', { OUTBOX_POLL_MS: '20' })
    const kafka = await setupTopics(ctx)
    const producer = await connectProducer(kafka)
    const real = createOutboxRelay({
      sql: ctx.sql,
      producer,
      registry: createRegistry(ctx.config.registry),
      registryConfig: ctx.config.registry,
    })
    let broken = true
    const relay = {
      relayOnce: () => (broken ? Promise.reject(new Error('broker says no')) : real.relayOnce()),
      backlog: () => real.backlog(),
    }
    const processor = await startProcessor(ctx, producer, { relay })
    try {
      const stalled = await pollUntil('a stalled relay', async () => processor.relayStalled(300))
      expect(stalled.error).toBe('broker says no')
      expect(stalled.sinceMs).toBeGreaterThanOrEqual(300)
      broken = false
      await pollUntil('the relay moving again', async () => processor.relayStalled(0) === undefined)
    } finally {
      await processor.stop()
      await producer.disconnect()
      await ctx.close()
    }
  })
})
