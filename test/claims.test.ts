// claimIds inserts a batch's ids in a savepoint and only falls back to ON CONFLICT after a duplicate.
// These pin what the rest of the batch's transaction sees afterwards, against the real Postgres.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lockOffset, storeOffset } from '../ledger/offsets.ts'
import { claimIds } from '../processor/ledger-store.ts'
import { createTestContext, type TestContext } from './support/context.ts'

const ids = (n: number) => Array.from({ length: n }, () => randomUUID()).sort()

describe('claimIds', () => {
  let ctx: TestContext

  beforeAll(async () => {
    ctx = await createTestContext('claims')
  })
  afterAll(async () => {
    await ctx.close()
  })

  it('claims a fresh batch, and the offset written after it is the transaction’s own, not a subtransaction’s', async () => {
    await ctx.sql.begin((tx) => storeOffset(tx, 'g', 't', 0, 1))
    const fresh = ids(3)
    const seen = await ctx.sql.begin(async (tx) => {
      await lockOffset(tx, 'g', 't', 0)
      const claimed = await claimIds(tx, fresh)
      await storeOffset(tx, 'g', 't', 0, 4)
      // Written from an unreleased savepoint, the row locked above would carry a MultiXact of this
      // transaction and its subtransaction; released, the new version's xmin is the transaction's own id.
      const [row] = await tx`
        select xmin::text as xmin, (pg_current_xact_id()::text::bigint % 4294967296)::text as top
        from consumer_offsets where group_id = 'g' and topic = 't' and partition = 0`
      return { claimed, row }
    })
    expect(seen.claimed).toEqual(new Set(fresh))
    expect(seen.row?.xmin).toBe(seen.row?.top)
    const stored = await ctx.sql`select transaction_id::text as id from transaction_claims
      where transaction_id = any(${fresh}::uuid[]) order by 1`
    expect(stored.map((r) => r.id)).toEqual(fresh)
  })

  it('after a duplicate, claims only the new ids and the transaction goes on', async () => {
    const [taken, ...rest] = ids(4)
    await ctx.sql.begin((tx) => claimIds(tx, [taken!]))
    const result = await ctx.sql.begin(async (tx) => {
      const claimed = await claimIds(tx, [taken!, ...rest])
      const [after] = await tx`select count(*)::int as n from transaction_claims
        where transaction_id = any(${[taken!, ...rest]}::uuid[])`
      return { claimed, n: after?.n }
    })
    expect(result.claimed).toEqual(new Set(rest))
    expect(result.n).toBe(4)
  })

  it('rolls the whole batch back when the transaction fails after claiming', async () => {
    const batch = ids(2)
    await expect(
      ctx.sql.begin(async (tx) => {
        await claimIds(tx, batch)
        await tx`select 1 / 0`
      }),
    ).rejects.toMatchObject({ code: '22012' })
    const left = await ctx.sql`select count(*)::int as n from transaction_claims
      where transaction_id = any(${batch}::uuid[])`
    expect(left[0]?.n).toBe(0)
  })
})
