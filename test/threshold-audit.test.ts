// The threshold edit (set_item_threshold): two people saving the same item at once, the state recomputed
// and a new LOW announced, and what it refuses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestContext, pollUntil, sqlstateOf, type TestContext } from './support/context.ts'

describe('set_item_threshold under concurrent edits', () => {
  let ctx: TestContext
  beforeAll(async () => {
    ctx = await createTestContext('threshold_audit')
    // Item 9 at store 9 has had a movement (quantity 6); item 8 never had one.
    await ctx.sql`insert into stock_levels (store_number, item_number, quantity, last_transaction_id)
                  values (9, 9, 6, gen_random_uuid())`
    // What a processor writes at its start: no processor runs here.
    await ctx.sql`insert into processor_settings (low_stock_default, low_stock_topic) values (10, 'test.low-stock')`
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
      await tx`select set_item_threshold(9, 9, 5, 'cli:a')`
      await held
    })
    await pollUntil('the first edit in progress', async () => {
      const [r] = await ctx.sql`
        select count(*)::int as n from pg_stat_activity
        where state = 'idle in transaction' and datname = current_database() and application_name = 'test-threshold_audit'`
      return (r?.n ?? 0) >= 1
    })
    const second = sqlstateOf(ctx.sql`select set_item_threshold(9, 9, 7, 'cli:b')`)
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
      { old_threshold: null, new_threshold: 5, actor: 'cli:a' },
      { old_threshold: 5, new_threshold: 7, actor: 'cli:b' },
    ])
  })

  it('recomputes the state at once: 6 on hand is LOW under 7, OK under 6, and entering LOW opens an episode', async () => {
    const before =
      await ctx.sql`select low_state, low_episode from stock_levels where store_number = 9 and item_number = 9`
    const announcedBefore = await ctx.sql`select id from outbox`
    expect(await ctx.sql`select set_item_threshold(9, 9, 6, 'cli:c') as s`).toEqual([{ s: 'OK' }])
    expect(
      await ctx.sql`select low_state from stock_levels where store_number = 9 and item_number = 9`,
    ).toEqual([{ low_state: 0 }])
    expect(await ctx.sql`select set_item_threshold(9, 9, 7, 'cli:c') as s`).toEqual([{ s: 'LOW' }])
    expect(
      await ctx.sql`select low_state, low_episode from stock_levels where store_number = 9 and item_number = 9`,
    ).toEqual([{ low_state: 1, low_episode: before[0]!.low_episode + 1 }])
    // Entering LOW is announced on the processor's topic, as a sale crossing it would be, once.
    const [level] =
      await ctx.sql`select low_episode, last_transaction_id from stock_levels where store_number = 9 and item_number = 9`
    expect(
      await ctx.sql`select topic, message_key, schema_name, payload from outbox order by id desc limit 1`,
    ).toEqual([
      {
        topic: 'test.low-stock',
        message_key: '9:9',
        schema_name: 'LowStock',
        payload: {
          event_id: `9:9:${level!.low_episode}:LOW`,
          episode: level!.low_episode,
          severity: 'LOW',
          store_number: 9,
          item_number: 9,
          quantity: 6,
          threshold: 7,
          transaction_id: level!.last_transaction_id,
          occurred_at: expect.any(Number),
          detected_at: expect.any(Number),
        },
      },
    ])
    expect(await ctx.sql`select id from outbox`).toHaveLength(announcedBefore.length + 1)
    // Back to the default (10): still LOW, and no new episode.
    expect(await ctx.sql`select set_item_threshold(9, 9, null, 'cli:c') as s`).toEqual([{ s: 'LOW' }])
    expect(
      await ctx.sql`select low_episode from stock_levels where store_number = 9 and item_number = 9`,
    ).toEqual([{ low_episode: before[0]!.low_episode + 1 }])
    expect(await ctx.sql`select id from outbox`).toHaveLength(announcedBefore.length + 1)
  })

  it('refuses what cannot be true: an item never booked, a console actor from another role, an empty actor', async () => {
    const changes = await ctx.sql`select count(*)::int as n from threshold_changes`
    expect(await sqlstateOf(ctx.sql`select set_item_threshold(9, 8, 5, 'cli:a')`)).toBe('22023')
    expect(await sqlstateOf(ctx.sql`select set_item_threshold(9, 9, 5, 'web:anyone')`)).toBe('42501')
    expect(await sqlstateOf(ctx.sql`select set_item_threshold(9, 9, 5, ' ')`)).toBe('22023')
    expect(await ctx.sql`select count(*)::int as n from threshold_changes`).toEqual(changes)
  })

  it('records the calling role beside the actor', async () => {
    const [row] =
      await ctx.sql`select db_role, current_user as me from threshold_audit order by id desc limit 1`
    expect(row!.db_role).toBe(row!.me)
  })
})
