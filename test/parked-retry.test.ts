// The scheduled retry against a real Postgres, with a backlog shaped to starve the old key-first selection:
// more than 500 keys and more than 5,000 due sales, the most overdue on the keys that sort last.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { retryDueParked } from '../processor/parked-retry-transaction.ts'
import { createTestContext, type TestContext } from './support/context.ts'

describe('scheduled retry of parked sales', () => {
  let ctx: TestContext
  const KEYS = 1000
  const PER_KEY = 10
  const now = Date.parse('2026-01-01T12:00:00Z')

  beforeAll(async () => {
    ctx = await createTestContext('parked_retry')
    // Items 1..1000 of store 1 with 10 parked sales each; items 501..1000 are the most overdue.
    await ctx.sql`
      insert into stock_levels (store_number, item_number, quantity, last_transaction_id)
      select 1, i, 0, gen_random_uuid() from generate_series(1, ${KEYS}) i`
    await ctx.sql`
      insert into parked_sales (transaction_id, occurred_at, store_number, item_number, quantity, reason, attempts,
                                attempted_at, first_seen_at, next_attempt_at, topic, partition, "offset")
      select gen_random_uuid(), now(), 1, i, 1, 'INSUFFICIENT_STOCK', 1, array[0]::bigint[],
             ${new Date(now - 3_600_000)}::timestamptz + (k || ' ms')::interval,
             ${new Date(now - 60_000)}::timestamptz - case when i > ${KEYS / 2} then interval '30 seconds' else interval '0' end
               + (k || ' ms')::interval,
             'events', 0, i * ${PER_KEY} + k
      from generate_series(1, ${KEYS}) i, generate_series(1, ${PER_KEY}) k`
  })
  afterAll(() => ctx.close())

  it('retries every due sale, the most overdue first, and then reports nothing due', async () => {
    const deps = {
      sql: ctx.sql,
      clock: () => now,
      policy: { scheduleMs: [60_000], maxAttempts: 10, parkTimeoutMs: 86_400_000 },
      topics: ctx.config.topics,
      lowStockDefault: 0,
    }
    const first = await retryDueParked(deps, 5000)
    expect([first?.retried, first?.more]).toEqual([5000, true])
    const [overdue] = await ctx.sql`
      select count(*)::int as n, min(item_number) as lo from parked_sales where attempts = 2`
    expect([overdue?.n, overdue?.lo]).toEqual([5000, KEYS / 2 + 1])
    const second = await retryDueParked(deps, 5000)
    expect(second?.retried).toBe(5000)
    expect(await retryDueParked(deps, 5000)).toBeUndefined()
    const byAttempts =
      await ctx.sql`select attempts, count(*)::int as n from parked_sales group by 1 order by 1`
    expect(byAttempts.map((r) => [r.attempts, r.n])).toEqual([[2, KEYS * PER_KEY]])
  })

  it('gives up on a sale past its attempts on schedule, whatever the backlog', async () => {
    const deps = {
      sql: ctx.sql,
      clock: () => now + 120_000,
      policy: { scheduleMs: [60_000], maxAttempts: 3, parkTimeoutMs: 86_400_000 },
      topics: ctx.config.topics,
      lowStockDefault: 0,
    }
    let passes = 0
    while (await retryDueParked(deps, 4000)) passes++
    expect(passes).toBe(3)
    const [left] = await ctx.sql`select count(*)::int as n from parked_sales`
    const [failed] =
      await ctx.sql`select count(*)::int as n from failed_movements where code = 'INSUFFICIENT_STOCK'`
    const [errors] =
      await ctx.sql`select count(*)::int as n from outbox where payload->>'code' = 'INSUFFICIENT_STOCK'`
    expect([left?.n, failed?.n, errors?.n]).toEqual([0, KEYS * PER_KEY, KEYS * PER_KEY])
  })
})
