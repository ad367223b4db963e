// The console's threshold edit (set_item_threshold) when two people save the same item at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'

describe('set_item_threshold under concurrent edits', () => {
  let ctx: TestContext
  beforeAll(async () => {
    ctx = await createTestContext('threshold_audit')
  })
  afterAll(async () => {
    await ctx.close()
  })

  it('serialises two first edits of one item: both apply, in order, and the audit chains them', async () => {
    let release: () => void = () => {}
    const held = new Promise<void>((r) => {
      release = r
    })
    // The first edit stays uncommitted while the second one starts.
    const first = ctx.sql.begin(async (tx) => {
      await tx`select set_item_threshold(9, 9, 5, 'web:a@127.0.0.1')`
      await held
    })
    await pollUntil('the first edit in progress', async () => {
      const [r] = await ctx.sql`
        select count(*)::int as n from pg_stat_activity
        where state = 'idle in transaction' and datname = current_database() and application_name = 'test-threshold_audit'`
      return (r?.n ?? 0) >= 1
    })
    const second = ctx.sql`select set_item_threshold(9, 9, 7, 'web:b@127.0.0.1')`.then(
      () => 'ok',
      (e: { code?: string }) => e.code,
    )
    // Only once the second edit waits on the first is the first let go.
    await pollUntil('the second edit waiting on the first', async () => {
      const [r] = await ctx.sql`
        select count(*)::int as n from pg_stat_activity
        where wait_event_type = 'Lock' and datname = current_database() and application_name = 'test-threshold_audit'`
      return (r?.n ?? 0) >= 1
    })
    release()
    await first
    expect(await second).toBe('ok')
    expect(
      await ctx.sql`select threshold from stock_thresholds where store_number = 9 and item_number = 9`,
    ).toEqual([{ threshold: 7 }])
    expect(
      await ctx.sql`select old_threshold, new_threshold, actor from threshold_changes order by id`,
    ).toEqual([
      { old_threshold: null, new_threshold: 5, actor: 'web:a@127.0.0.1' },
      { old_threshold: 5, new_threshold: 7, actor: 'web:b@127.0.0.1' },
    ])
  })
})
