// The re-drive audit's checks in Postgres (record_redrive, finish_redrive): what a run may claim, including
// a run whose movements failed again with another code and time before it finished.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestContext, sqlstateOf, type TestContext } from './support/context.ts'

describe('re-drive audit', () => {
  let ctx: TestContext
  beforeAll(async () => {
    ctx = await createTestContext('redrive_audit')
    for (let i = 1; i <= 3; i++) {
      await ctx.sql`
        insert into failed_movements (transaction_id, event_type, occurred_at, store_number, item_number, quantity,
                                      code, error_id, attempts, attempted_at, failed_at)
        values (${`dddddddd-0000-4000-8000-00000000000${i}`}, 'sale', '2024-01-01T00:00:00Z', 1, ${i}, 5,
                'INSUFFICIENT_STOCK', ${`e${i}`}, 1, '{}', '2024-06-01T00:00:00Z')`
    }
  })
  afterAll(async () => {
    await ctx.close()
  })

  const filter = { code: 'INSUFFICIENT_STOCK', until: '2024-07-01T00:00:00Z' }

  it('takes a preview only with the count its filter selects', async () => {
    const f = ctx.sql.json(filter)
    expect(await sqlstateOf(ctx.sql`select record_redrive(${f}, true, 2, 'cli:ops', null)`)).toBe('22023')
    expect(await sqlstateOf(ctx.sql`select record_redrive(${f}, true, 3, 'cli:ops', null)`)).toBe('ok')
  })

  it('finishes a send whose movements failed again meanwhile with another code and a later time', async () => {
    const [run] =
      await ctx.sql`select record_redrive(${ctx.sql.json(filter)}, false, 0, 'cli:ops', null) as id`
    // What the processor does to a re-driven movement that fails again: a new code, failed now, and no
    // longer re-driven. None of the three matches the run's filter any more.
    await ctx.sql`update failed_movements set code = 'STOCK_LIMIT', failed_at = now(), redriven_at = null`
    expect(await sqlstateOf(ctx.sql`select finish_redrive(${run!.id}, 'sent', 4, null)`)).toBe('22023')
    expect(await sqlstateOf(ctx.sql`select finish_redrive(${run!.id}, 'sent', 3, null)`)).toBe('ok')
    expect(await ctx.sql`select status, count from redrive_audit where id = ${run!.id}`).toEqual([
      { status: 'sent', count: 3 },
    ])
  })
})
