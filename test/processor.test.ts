// The processor against the real broker, registry and Postgres.

import { readFile } from 'node:fs/promises'
import type { Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RenewableProducer } from '../lib/kafka.ts'
import type { Encoder } from '../lib/registry.ts'
import type { Processor } from '../processor/processor.ts'
import type { LowStock, StockError, StockMovement } from '../schemas/contract.ts'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { connectProducer, encoders, readTopic, setupTopics } from './support/kafka.ts'
import { movement, produceMovements, startProcessor } from './support/processor.ts'

const SEED = new URL('../examples/example.csv', import.meta.url)

async function seedMovements(): Promise<StockMovement[]> {
  const [, ...rows] = (await readFile(SEED, 'utf8')).trim().split('\n')
  return rows.map((r) => {
    const [id, type, date, store, item, value] = r.split(',')
    return {
      transaction_id: id!,
      event_type: type as 'incoming',
      occurred_at: Date.parse(date!),
      store_number: Number(store),
      item_number: Number(item),
      quantity: Number(value),
    }
  })
}

describe('processor', () => {
  let ctx: TestContext
  let kafka: Kafka
  let producer: RenewableProducer
  let processor: Processor
  let enc: Encoder<StockMovement>
  const send = (ms: StockMovement[]) => produceMovements(producer, ctx.config.topics.events, enc, ms)
  const level = async (store: number, item: number) => {
    const [row] =
      await ctx.sql`select quantity from stock_levels where store_number = ${store} and item_number = ${item} and last_transaction_id is not null`
    return row?.quantity as number | undefined
  }
  const offsetsCaughtUp = async () => {
    const admin = kafka.admin()
    await admin.connect()
    const high = (await admin.fetchTopicOffsets(ctx.config.topics.events)).reduce(
      (n, p) => n + Number(p.high),
      0,
    )
    await admin.disconnect()
    const [row] = await ctx.sql`select coalesce(sum(next_offset), 0)::int as n from consumer_offsets`
    return row?.n === high
  }

  beforeAll(async () => {
    ctx = await createTestContext('processor', {
      PROCESS_RETRY_SCHEDULE_MS: '150',
      PROCESS_MAX_ATTEMPTS: '3',
      PROCESS_RETRY_POLL_MS: '50',
      OUTBOX_POLL_MS: '50',
      LOW_STOCK_DEFAULT: '10',
    })
    kafka = await setupTopics(ctx)
    producer = await connectProducer(kafka)
    enc = (await encoders(ctx)).movements
    processor = await startProcessor(ctx, producer)
  })
  afterAll(async () => {
    await processor.stop()
    await producer.disconnect()
    await ctx.close()
  })

  it('applies the seed example, and the same events delivered twice change nothing', async () => {
    const seed = await seedMovements()
    await send(seed)
    await pollUntil('seed applied', async () => (await level(5, 12)) === 800 && (await offsetsCaughtUp()))
    const rows =
      await ctx.sql`select store_number, item_number, quantity from current_stock where store_number in (5, 6, 8) order by 1, 2`
    expect(rows.map((r) => [r.store_number, r.item_number, r.quantity])).toEqual([
      [5, 12, 800],
      [5, 13, 400],
      [5, 21, 400],
      [6, 2, 400],
      [6, 17, 400],
      [6, 18, 400],
      [8, 11, 400],
      [8, 27, 400],
    ])
    await send(seed)
    await pollUntil('redelivery consumed', offsetsCaughtUp)
    expect(await level(5, 12)).toBe(800)
    const [dups] = await ctx.sql`select value from processor_counters where name = 'duplicates'`
    expect(dups?.value).toBe(9)
    const [journal] = await ctx.sql`select count(*)::int as n from stock_journal`
    expect(journal?.n).toBe(9)
  })

  it('parks a sale that arrives before its stock, then applies it as soon as the incoming lands', async () => {
    const sale = movement('sale', 20, 1, 30)
    await send([sale])
    await pollUntil(
      'sale parked',
      async () =>
        (await ctx.sql`select reason from parked_sales where transaction_id = ${sale.transaction_id}`)[0]
          ?.reason === 'UNKNOWN_ITEM',
    )
    // Other items are not blocked behind the parked sale.
    await send([movement('incoming', 20, 2, 5)])
    await pollUntil('other item applied', async () => (await level(20, 2)) === 5)
    await send([movement('incoming', 20, 1, 100)])
    await pollUntil('parked sale applied', async () => (await level(20, 1)) === 70)
    const [j] = await ctx.sql`select status from stock_journal where transaction_id = ${sale.transaction_id}`
    expect(j?.status).toBe('applied')
    expect(
      await ctx.sql`select 1 from parked_sales where transaction_id = ${sale.transaction_id}`,
    ).toHaveLength(0)
  })

  it('sends a sale that never gets stock to errors after the configured attempts', async () => {
    await send([movement('incoming', 21, 1, 5)])
    const sale = movement('sale', 21, 1, 50)
    await send([sale])
    const failed = await pollUntil(
      'sale failed',
      async () =>
        (await ctx.sql`select * from failed_movements where transaction_id = ${sale.transaction_id}`)[0],
    )
    expect(failed.code).toBe('INSUFFICIENT_STOCK')
    expect(failed.attempts).toBe(3)
    expect(await level(21, 1)).toBe(5)
    const errors = await readTopic<StockError>(ctx, kafka, ctx.config.topics.errors, 'StockError', 1)
    const e = errors.find((x) => x.value.movement?.transaction_id === sale.transaction_id)
    expect(e?.value).toMatchObject({
      stage: 'process',
      code: 'INSUFFICIENT_STOCK',
      attempts: 3,
      error_id: failed.error_id,
    })
    expect(e?.value.attempted_at).toHaveLength(3)
  })

  it('records a conflicting payload and a poison message on errors, and keeps going', async () => {
    const first = movement('incoming', 22, 1, 10)
    await send([first])
    await pollUntil('first applied', async () => (await level(22, 1)) === 10)
    await send([{ ...first, quantity: 99 }])
    await producer.send({
      topic: ctx.config.topics.events,
      acks: -1,
      messages: [{ key: '22:1', value: Buffer.from('not avro at all') }],
    })
    await send([movement('incoming', 22, 1, 1)])
    await pollUntil('later event applied', async () => (await level(22, 1)) === 11)
    const errors = await pollUntil('conflict and poison on errors', async () => {
      const all = await readTopic<StockError>(ctx, kafka, ctx.config.topics.errors, 'StockError', 3)
      const codes = all.map((x) => x.value.code)
      return codes.includes('TRANSACTION_CONFLICT') && codes.includes('UNDECODABLE') ? all : undefined
    })
    const conflict = errors.find((x) => x.value.code === 'TRANSACTION_CONFLICT')!.value
    expect(conflict.movement).toMatchObject({ transaction_id: first.transaction_id, quantity: 99 })
    const poison = errors.find((x) => x.value.code === 'UNDECODABLE')!.value
    expect(Buffer.from(poison.raw_value_base64!, 'base64').toString()).toBe('not avro at all')
    expect(poison.topic).toBe(ctx.config.topics.events)
    expect(poison.offset).toMatch(/^\d+$/)
  })

  it('emits one LowStock per episode, and another after recovery and a second crossing', async () => {
    await send([movement('incoming', 23, 1, 20)])
    await send([movement('sale', 23, 1, 12), movement('sale', 23, 1, 1), movement('sale', 23, 1, 1)])
    await pollUntil('sales applied', async () => (await level(23, 1)) === 6)
    await send([movement('incoming', 23, 1, 10), movement('sale', 23, 1, 7)])
    await pollUntil('second crossing applied', async () => (await level(23, 1)) === 9)
    const events = await pollUntil('two low-stock events', async () => {
      const all = (await readTopic<LowStock>(ctx, kafka, ctx.config.topics.lowStock, 'LowStock', 2)).filter(
        (e) => e.value.store_number === 23,
      )
      return all.length >= 2 ? all : undefined
    })
    expect(
      events.map((e) => [e.value.event_id, e.value.severity, e.value.quantity, e.value.threshold]),
    ).toEqual([
      ['23:1:1:LOW', 'LOW', 8, 10],
      ['23:1:2:LOW', 'LOW', 9, 10],
    ])
  })
})
