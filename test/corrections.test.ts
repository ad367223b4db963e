// Counts, transfers and reversals against the real broker, registry and Postgres: each applied once, in
// order per key, with the journal's running balance, and the out-of-order cases parked until they can apply.
import type { Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedriveSender, redrive } from '../ledger/redrive.ts'
import type { RenewableProducer } from '../lib/kafka.ts'
import type { Encoder } from '../lib/registry.ts'
import type { Processor } from '../processor/processor.ts'
import type { StockError, StockMovement } from '../schemas/contract.ts'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { connectProducer, encoders, readTopic, setupTopics } from './support/kafka.ts'
import { movement, produceMovements, reversalOf, startProcessor } from './support/processor.ts'

describe('ledger corrections', () => {
  let ctx: TestContext
  let kafka: Kafka
  let producer: RenewableProducer
  let processor: Processor
  let enc: Encoder<StockMovement>
  const send = (ms: StockMovement[]) => produceMovements(producer, ctx.config.topics.events, enc, ms)
  const level = async (store: number, item: number) => {
    const [row] =
      await ctx.sql`select quantity from stock_levels where store_number = ${store} and item_number = ${item}`
    return row === undefined ? undefined : Number(row.quantity)
  }
  const rows = async (item: number) =>
    (
      await ctx.sql`
        select event_type, leg, store_number, quantity, delta, quantity_after, to_store_number,
               reverses::text
        from stock_journal where item_number = ${item} order by entry_id`
    ).map((r) => [
      r.event_type,
      r.leg,
      r.store_number,
      r.quantity,
      Number(r.delta),
      Number(r.quantity_after),
      r.to_store_number,
      r.reverses,
    ])
  const journaled = async (id: string) =>
    Number((await ctx.sql`select count(*)::int as n from stock_journal where transaction_id = ${id}`)[0]!.n)
  const failedCode = async (id: string) =>
    (await ctx.sql`select code from failed_movements where transaction_id = ${id}`)[0]?.code as
      | string
      | undefined

  beforeAll(async () => {
    ctx = await createTestContext('corrections', {
      PROCESS_RETRY_SCHEDULE_MS: '200',
      PROCESS_MAX_ATTEMPTS: '4',
      PROCESS_RETRY_POLL_MS: '50',
      OUTBOX_POLL_MS: '50',
      LOW_STOCK_DEFAULT: '3',
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

  it('a count posts its difference and keeps both; a count that changes nothing is still recorded', async () => {
    const item = 101
    const count = movement('adjustment', 1, item, 7)
    const same = movement('adjustment', 1, item, 7)
    const zero = movement('adjustment', 1, item, 0)
    await send([movement('incoming', 1, item, 10), count, same, zero])
    await pollUntil('counts applied', async () => (await journaled(zero.transaction_id)) === 1)
    expect(await rows(item)).toEqual([
      ['incoming', 1, 1, 10, 10, 10, null, null],
      ['adjustment', 1, 1, 7, -3, 7, null, null],
      ['adjustment', 1, 1, 7, 0, 7, null, null],
      ['adjustment', 1, 1, 0, -7, 0, null, null],
    ])
    const [last] =
      await ctx.sql`select counted, delta from last_counts where store_number = 1 and item_number = ${item}`
    expect([last?.counted, Number(last?.delta)]).toEqual([0, -7])
  })

  it('a transfer between stores on two partitions moves the stock once, both legs under one id', async () => {
    const item = 102
    // Stores whose keys land on different partitions: the journal says where each incoming was read.
    const seeds = [1, 2, 3, 4, 5, 6].map((s) => movement('incoming', s, item, 10))
    await send(seeds)
    await pollUntil('seeds applied', async () => (await journaled(seeds[5]!.transaction_id)) === 1)
    const parts = await ctx.sql`
      select store_number, partition from stock_journal where item_number = ${item} order by store_number`
    const from = parts[0]!
    const to = parts.find((p) => p.partition !== from.partition)!
    expect(to).toBeDefined()
    const t = movement('transfer', from.store_number, item, 4, { to: to.store_number })
    await send([t, t])
    await pollUntil('transfer applied', async () => (await journaled(t.transaction_id)) === 2)
    const legs = await ctx.sql`
      select leg, store_number, delta, quantity_after, to_store_number from stock_journal
      where transaction_id = ${t.transaction_id} order by leg`
    expect(
      legs.map((l) => [l.leg, l.store_number, Number(l.delta), Number(l.quantity_after), l.to_store_number]),
    ).toEqual([
      [1, from.store_number, -4, 6, to.store_number],
      [2, to.store_number, 4, 14, to.store_number],
    ])
    expect([await level(from.store_number, item), await level(to.store_number, item)]).toEqual([6, 14])
  })

  it('a transfer before its source stock waits, and the destination sees nothing until the source gives it up', async () => {
    const item = 103
    const t = movement('transfer', 1, item, 5, { to: 2 })
    await send([t])
    await pollUntil('transfer parked', async () => {
      const [p] =
        await ctx.sql`select reason, event_type from parked_sales where transaction_id = ${t.transaction_id}`
      return p?.reason === 'UNKNOWN_ITEM' && p.event_type === 'transfer'
    })
    expect(await level(2, item)).toBe(0)
    await send([movement('incoming', 1, item, 8)])
    await pollUntil('transfer applied', async () => (await journaled(t.transaction_id)) === 2)
    expect([await level(1, item), await level(2, item)]).toEqual([3, 5])
  })

  it('reverses a sale, an incoming, a count and a transfer, each once; a second reversal and a reversal of a reversal are refused', async () => {
    const item = 104
    const inc = movement('incoming', 1, item, 20)
    const sale = movement('sale', 1, item, 4)
    const count = movement('adjustment', 1, item, 10)
    const t = movement('transfer', 1, item, 3, { to: 2 })
    await send([inc, sale, count, t])
    await pollUntil('originals applied', async () => (await journaled(t.transaction_id)) === 2)
    const revSale = reversalOf(sale)
    const again = reversalOf(sale)
    const revT = reversalOf(t)
    const revCount = reversalOf(count)
    const revRev = reversalOf(revSale)
    await send([revSale, again, revT, revCount, revRev])
    await pollUntil('reversals done', async () => (await failedCode(revRev.transaction_id)) !== undefined)
    expect(await failedCode(again.transaction_id)).toBe('ALREADY_REVERSED')
    expect(await failedCode(revRev.transaction_id)).toBe('REVERSAL_OF_REVERSAL')
    // 20 - 4 = 16, counted 10 (-6), 3 to store 2 (7), then: +4 (11), +3 back with -3 at store 2 (14), +6 (20).
    expect([await level(1, item), await level(2, item)]).toEqual([20, 0])
    const corrections = await ctx.sql`
      select transaction_id::text, leg, delta, original_type, original_delta from ledger_corrections
      where item_number = ${item} and event_type = 'reversal' order by entry_id`
    expect(
      corrections.map((c) => [c.leg, Number(c.delta), c.original_type, Number(c.original_delta)]),
    ).toEqual([
      [1, 4, 'sale', -4],
      [1, 3, 'transfer', -3],
      [2, -3, 'transfer', 3],
      [1, 6, 'adjustment', -6],
    ])
    const errors = await readTopic<StockError>(ctx, kafka, ctx.config.topics.errors, 'StockError', 2)
    expect(errors.map((e) => e.value.code).sort()).toEqual(['ALREADY_REVERSED', 'REVERSAL_OF_REVERSAL'])
  })

  it('a reversal before its original waits for it; one that does not match its original is refused', async () => {
    const item = 105
    const inc = movement('incoming', 1, item, 9)
    const rev = reversalOf(inc)
    await send([rev])
    await pollUntil('reversal parked', async () => {
      const [p] = await ctx.sql`select reason from parked_sales where transaction_id = ${rev.transaction_id}`
      return p?.reason === 'UNKNOWN_ORIGINAL'
    })
    await send([inc])
    await pollUntil('reversal applied', async () => (await journaled(rev.transaction_id)) === 1)
    expect(await level(1, item)).toBe(0)
    const sale = movement('sale', 1, item, 1)
    const incoming = movement('incoming', 1, item, 5)
    const wrong = { ...reversalOf(sale), quantity: 2 }
    await send([incoming, sale, wrong])
    await pollUntil(
      'mismatch refused',
      async () => (await failedCode(wrong.transaction_id)) === 'REVERSAL_MISMATCH',
    )
    expect(await level(1, item)).toBe(4)
  })

  it('reversing an incoming whose stock was sold parks, then fails as INSUFFICIENT_STOCK', async () => {
    const item = 106
    const inc = movement('incoming', 1, item, 10)
    const rev = reversalOf(inc)
    await send([inc, movement('sale', 1, item, 8), rev])
    await pollUntil(
      'reversal failed',
      async () => (await failedCode(rev.transaction_id)) === 'INSUFFICIENT_STOCK',
      {
        timeoutMs: 20_000,
      },
    )
    expect(await level(1, item)).toBe(2)
    expect(await journaled(rev.transaction_id)).toBe(0)
  })

  it('a reversal of a sale still parked withdraws it: never applied, not re-drivable', async () => {
    const item = 107
    const sale = movement('sale', 1, item, 5)
    await send([sale])
    await pollUntil('sale parked', async () => {
      const [p] = await ctx.sql`select 1 from parked_sales where transaction_id = ${sale.transaction_id}`
      return p !== undefined
    })
    const rev = reversalOf(sale)
    await send([rev, movement('incoming', 1, item, 10)])
    await pollUntil('withdrawn', async () => (await failedCode(sale.transaction_id)) === 'WITHDRAWN')
    await pollUntil('incoming applied', async () => (await level(1, item)) === 10)
    expect(await journaled(sale.transaction_id)).toBe(0)
    const redrivable =
      await ctx.sql`select 1 from redrivable_movements where transaction_id = ${sale.transaction_id}`
    expect(redrivable).toHaveLength(0)
  })
  it('a transfer that failed for want of stock is re-driven, destination and all, once its stock is booked', async () => {
    const item = 108
    const t = movement('transfer', 1, item, 2, { to: 3 })
    await send([t])
    await pollUntil('transfer failed', async () => (await failedCode(t.transaction_id)) === 'UNKNOWN_ITEM', {
      timeoutMs: 20_000,
    })
    await send([movement('incoming', 1, item, 5)])
    await pollUntil('stock booked', async () => (await level(1, item)) === 5)
    const result = await redrive({
      sql: ctx.sql,
      send: createRedriveSender({ producer, encoder: enc, topic: ctx.config.topics.events }),
      filter: { code: 'UNKNOWN_ITEM', item },
      dryRun: false,
      actor: 'cli:test',
    })
    expect(result.count).toBe(1)
    await pollUntil('transfer applied', async () => (await journaled(t.transaction_id)) === 2)
    expect([await level(1, item), await level(3, item)]).toEqual([3, 2])
  })
  it('the batch that brings a parked transfer its stock moves it before a later sale can take that stock', async () => {
    const item = 109
    const t = movement('transfer', 1, item, 5, { to: 2 })
    await send([t])
    await pollUntil('transfer parked', async () => {
      const [p] = await ctx.sql`select 1 from parked_sales where transaction_id = ${t.transaction_id}`
      return p !== undefined
    })
    const sale = movement('sale', 1, item, 8)
    await send([movement('incoming', 1, item, 10), sale])
    await pollUntil('transfer applied', async () => (await journaled(t.transaction_id)) === 2)
    const [p] = await ctx.sql`select reason from parked_sales where transaction_id = ${sale.transaction_id}`
    expect(p?.reason).toBe('INSUFFICIENT_STOCK')
    expect([await level(1, item), await level(2, item)]).toEqual([5, 5])
  })
})
