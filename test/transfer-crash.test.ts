// Transfers between stores on different partitions, with the processor SIGKILLed twice while it applies
// them: every transfer ends with both legs or neither, exactly once, and no unit is created or lost.
import { type ChildProcess, spawn } from 'node:child_process'
import type { Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RenewableProducer } from '../lib/kafka.ts'
import type { Encoder } from '../lib/registry.ts'
import type { StockMovement } from '../schemas/contract.ts'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { connectProducer, encoders, setupTopics } from './support/kafka.ts'
import { movement, produceMovements, reversalOf } from './support/processor.ts'

const BIN = new URL('../bin/commands.ts', import.meta.url).pathname
const STORES = 4
const ITEMS = 40

describe('transfers across a processor crash', () => {
  let ctx: TestContext
  let kafka: Kafka
  let producer: RenewableProducer
  let enc: Encoder<StockMovement>
  let child: ChildProcess | undefined

  const startChild = () => {
    child = spawn(process.execPath, [BIN, 'processor'], {
      env: { ...process.env, ...ctx.env, PROCESSOR_PORT: '0', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    })
    return child
  }
  const kill = async (c: ChildProcess) => {
    c.kill('SIGKILL')
    await new Promise((r) => c.once('exit', r))
  }
  const journalRows = async () => Number((await ctx.sql`select count(*)::int as n from stock_journal`)[0]!.n)

  beforeAll(async () => {
    ctx = await createTestContext('transfer_crash', { EVENTS_PARTITIONS: '4' })
    kafka = await setupTopics(ctx)
    producer = await connectProducer(kafka)
    enc = (await encoders(ctx)).movements
  })
  afterAll(async () => {
    child?.kill('SIGKILL')
    await producer.disconnect()
    await ctx.close()
  })

  it('applies each transfer and each reversal of one with both legs, once, across two SIGKILLs', async () => {
    // Every store:item starts with 1000; transfers move at most 3 at a time, never enough to park one, so
    // the final stock follows from the movements whatever the interleaving of partitions.
    const expected = new Map<string, number>()
    const all: StockMovement[] = []
    for (let s = 1; s <= STORES; s++)
      for (let i = 1; i <= ITEMS; i++) {
        all.push(movement('incoming', s, i, 1000))
        expected.set(`${s}:${i}`, 1000)
      }
    // mulberry32: a seeded generator whose low bits are as random as its high ones.
    let seed = 7
    const rand = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      return ((t ^ (t >>> 14)) >>> 0) % n
    }
    const transfers: StockMovement[] = []
    for (let k = 0; k < 6000; k++) {
      const from = 1 + rand(STORES)
      const to = 1 + ((from + rand(STORES - 1)) % STORES)
      const item = 1 + rand(ITEMS)
      const t = movement('transfer', from, item, 1 + rand(3), { to })
      transfers.push(t)
      expected.set(`${from}:${item}`, expected.get(`${from}:${item}`)! - t.quantity)
      expected.set(`${to}:${item}`, expected.get(`${to}:${item}`)! + t.quantity)
    }
    // Every twentieth transfer is reversed, after it, on its source's key.
    const reversals = transfers.filter((_, k) => k % 20 === 0).map(reversalOf)
    for (const r of reversals) {
      const t = transfers.find((x) => x.transaction_id === r.reverses)!
      expected.set(
        `${t.store_number}:${t.item_number}`,
        expected.get(`${t.store_number}:${t.item_number}`)! + t.quantity,
      )
      expected.set(
        `${t.to_store_number}:${t.item_number}`,
        expected.get(`${t.to_store_number}:${t.item_number}`)! - t.quantity,
      )
    }
    const stream = [...all, ...transfers.flatMap((t, k) => (k % 10 === 0 ? [t, t] : [t])), ...reversals]
    for (let i = 0; i < stream.length; i += 2000) {
      await produceMovements(producer, ctx.config.topics.events, enc, stream.slice(i, i + 2000))
    }
    const rows = all.length + 2 * transfers.length + 2 * reversals.length

    for (const share of [0.3, 0.6]) {
      const c = startChild()
      await pollUntil('part of the stream applied', async () => (await journalRows()) > rows * share, {
        timeoutMs: 120_000,
        intervalMs: 20,
      })
      await kill(c)
    }
    expect(await journalRows()).toBeLessThan(rows)
    const last = startChild()
    await pollUntil('the whole stream applied', async () => (await journalRows()) === rows, {
      timeoutMs: 180_000,
      intervalMs: 200,
    })
    await pollUntil('offsets at the end of every partition', async () => {
      const [r] = await ctx.sql`select coalesce(sum(next_offset), 0)::int as n from consumer_offsets`
      return r?.n === stream.length
    })
    last.kill('SIGTERM')
    await new Promise((r) => last.once('exit', r))

    const legs = await ctx.sql`
      select event_type, count(*)::int as ids, min(n)::int as min, max(n)::int as max from (
        select transaction_id, event_type, count(*) as n from stock_journal
        where event_type in ('transfer', 'reversal') group by 1, 2) t
      group by 1 order by 1`
    expect(legs).toEqual([
      { event_type: 'reversal', ids: reversals.length, min: 2, max: 2 },
      { event_type: 'transfer', ids: transfers.length, min: 2, max: 2 },
    ])
    const levels = await ctx.sql`select store_number, item_number, quantity from stock_levels`
    expect(new Map(levels.map((l) => [`${l.store_number}:${l.item_number}`, Number(l.quantity)]))).toEqual(
      expected,
    )
    // Each store's running balance ends where its stock is.
    const [drift] = await ctx.sql`
      select count(*)::int as n from stock_levels l
      where l.quantity <> (select j.quantity_after from stock_journal j
                           where j.store_number = l.store_number and j.item_number = l.item_number
                           order by j.entry_id desc limit 1)`
    expect(drift?.n).toBe(0)
    expect(await ctx.sql`select 1 from parked_sales`).toHaveLength(0)
  })
})
