// The ledger's offsets against the log: records removed before they were applied are reported once, and a
// topic recreated below the ledger halts its partitions loudly until an operator accepts it.
import type { Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureTopics, pipelineTopics, type RenewableProducer } from '../lib/kafka.ts'
import type { Encoder } from '../lib/registry.ts'
import { runOffsets } from '../ops/offsets.ts'
import type { Processor } from '../processor/processor.ts'
import type { StockError, StockMovement } from '../schemas/contract.ts'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { connectProducer, encoders, readTopic, setupTopics } from './support/kafka.ts'
import { movement, startProcessor } from './support/processor.ts'

describe('processor offsets against the log', () => {
  let ctx: TestContext
  let kafka: Kafka
  let producer: RenewableProducer
  let enc: Encoder<StockMovement>
  let processor: Processor | undefined
  const send = (ms: StockMovement[]) =>
    producer.send({
      topic: ctx.config.topics.events,
      acks: -1,
      messages: ms.map((m) => ({ key: 'k', partition: 0, value: enc.encode(m) })),
    })
  const stored = async () => {
    const [row] = await ctx.sql`select next_offset from consumer_offsets where partition = 0`
    return row?.next_offset as number | undefined
  }
  const level = async () => {
    const [row] = await ctx.sql`select quantity from current_stock where store_number = 7 and item_number = 1`
    return row?.quantity as number | undefined
  }

  async function recreateTopic() {
    const admin = kafka.admin()
    await admin.connect()
    await admin.deleteTopics({ topics: [ctx.config.topics.events] })
    await pollUntil('topic gone', async () => !(await admin.listTopics()).includes(ctx.config.topics.events))
    await pollUntil(
      'topic recreated',
      async () => {
        await ensureTopics(admin, pipelineTopics(ctx.config.topics))
        return (await admin.fetchTopicOffsets(ctx.config.topics.events)).length === 1
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    )
    await admin.disconnect()
  }

  beforeAll(async () => {
    ctx = await createTestContext('offsets', {
      EVENTS_PARTITIONS: '1',
      OUTBOX_POLL_MS: '50',
      PROCESS_HALT_RECHECK_MS: '100',
    })
    kafka = await setupTopics(ctx)
    producer = await connectProducer(kafka)
    enc = (await encoders(ctx)).movements
  })
  afterAll(async () => {
    await processor?.stop()
    await producer.disconnect()
    await ctx.close()
  })

  it('reports records removed before they were applied once, with count and range, and applies the rest', async () => {
    await send([1, 2, 3, 4, 5].map((q) => movement('incoming', 7, 1, q)))
    const admin = kafka.admin()
    await admin.connect()
    // Retention, by hand: the first three records go before any processor saw them. kafkajs needs the
    // topic's metadata loaded before it can find the partition leader.
    await admin.fetchTopicMetadata({ topics: [ctx.config.topics.events] })
    await admin.deleteTopicRecords({
      topic: ctx.config.topics.events,
      partitions: [{ partition: 0, offset: '3' }],
    })
    await admin.disconnect()
    processor = await startProcessor(ctx, producer)
    await pollUntil('the remaining records applied', async () => (await stored()) === 5)
    expect(await level()).toBe(9)
    const errors = await readTopic<StockError>(ctx, kafka, ctx.config.topics.errors, 'StockError', 1)
    expect(errors.map((e) => [e.value.code, e.value.partition])).toEqual([['EVENTS_EXPIRED', 0]])
    expect(errors[0]?.value.message).toContain('3 record(s)')
    expect(errors[0]?.value.message).toContain('offsets 0..2')
  })

  it('halts on a recreated topic, reports it once, and resumes after --accept-reset', async () => {
    await processor!.stop()
    processor = undefined
    await recreateTopic()
    await send([movement('incoming', 7, 1, 100)])

    processor = await startProcessor(ctx, producer)
    await pollUntil('partition halted', async () => processor!.halted().length === 1, { timeoutMs: 30_000 })
    expect(processor.halted()).toEqual([{ partition: 0, stored: 5, logEnd: 1 }])
    const errors = await readTopic<StockError>(ctx, kafka, ctx.config.topics.errors, 'StockError', 2)
    expect(errors.map((e) => e.value.code)).toEqual(['EVENTS_EXPIRED', 'TOPIC_RESET'])
    expect(errors[1]?.value.message).toContain('stockflow offsets --accept-reset')
    expect([await stored(), await level()]).toEqual([5, 9])

    const lines: string[] = []
    expect(await runOffsets(['--json'], ctx.env, (l) => lines.push(l))).toBe(2)
    expect(JSON.parse(lines[0]!).partitions).toEqual([
      { partition: 0, stored: 5, logStart: 0, logEnd: 1, state: 'halted' },
    ])
    // Read past a marker of the old topic: that must not count for the new one once the reset is accepted.
    await ctx.sql`update consumer_offsets set read_to = 6`
    expect(await runOffsets(['--accept-reset'], ctx.env, () => {})).toBe(0)
    await pollUntil('the new topic applied', async () => (await level()) === 109, { timeoutMs: 30_000 })
    expect([await stored(), processor.halted()]).toEqual([1, []])
    expect(await ctx.sql`select read_to from consumer_offsets`).toEqual([{ read_to: null }])
    const [incident] = await ctx.sql`
      select kind, stored_offset, log_end, resolved_by is not null as resolved from offset_incidents where kind = 'TOPIC_RESET'`
    expect(incident).toEqual({ kind: 'TOPIC_RESET', stored_offset: 5, log_end: 1, resolved: true })
  })

  it('halts when the topic is recreated under a running processor and grows past the ledger', async () => {
    await send([1, 1, 1].map((q) => movement('incoming', 7, 1, q)))
    await pollUntil('three more applied', async () => (await stored()) === 4)
    expect(await level()).toBe(112)
    await recreateTopic()
    await send([1, 2, 3, 4, 5, 6].map(() => movement('incoming', 7, 1, 1000)))
    await pollUntil('partition halted again', async () => processor!.halted().length === 1, {
      timeoutMs: 30_000,
    })
    expect([await stored(), await level()]).toEqual([4, 112])
    const [open] = await ctx.sql`
      select count(*)::int as n from offset_incidents where kind = 'TOPIC_RESET' and resolved_at is null`
    expect(open?.n).toBe(1)
    expect(await runOffsets(['--accept-reset'], ctx.env, () => {})).toBe(0)
    await pollUntil('the recreated topic applied in full', async () => (await level()) === 6112, {
      timeoutMs: 30_000,
    })
  })

  it('learns the fingerprint of a ledger that has none (written before fingerprints) instead of looping', async () => {
    await processor!.stop()
    await ctx.sql`update consumer_offsets set last_record_sha256 = null`
    // Kafka's committed offset one before the ledger's: the first fetch holds only the last applied record.
    const next = (await stored())!
    const admin = kafka.admin()
    await admin.connect()
    await admin.setOffsets({
      groupId: ctx.config.processor.groupId,
      topic: ctx.config.topics.events,
      partitions: [{ partition: 0, offset: String(next - 1) }],
    })
    await admin.disconnect()
    processor = await startProcessor(ctx, producer)
    await pollUntil(
      'fingerprint learned from the last applied record',
      async () => (await ctx.sql`select last_record_sha256 from consumer_offsets`)[0]?.last_record_sha256,
      { timeoutMs: 30_000 },
    )
    const before = await level()
    await send([movement('incoming', 7, 1, 1)])
    await pollUntil('the next movement applied', async () => (await level()) === (before ?? 0) + 1)
    expect(processor.halted()).toEqual([])
  })
})
