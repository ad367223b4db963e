// The services' Postgres role has only the rights it needs, and timeouts on the role itself.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createSql, type Sql } from '../lib/db.ts'
import { createTestContext, sqlstateOf, type TestContext } from './support/context.ts'

const appUrl = inject('appDatabaseUrl')

describe.runIf(appUrl)('stockflow_app role', () => {
  let ctx: TestContext
  let app: Sql
  beforeAll(async () => {
    ctx = await createTestContext('roles')
    app = createSql({ url: appUrl!, schema: ctx.config.db.schema, max: 1 })
  })
  afterAll(async () => {
    await app.end({ timeout: 5 })
    await ctx.close()
  })

  it('may insert and read the journal but never rewrite or delete it', async () => {
    await app`insert into stock_journal (transaction_id, event_type, occurred_at, store_number, item_number, quantity, topic,
                                         partition, "offset", delta, quantity_after)
              values ('eeeeeeee-0000-4000-8000-000000000001', 'incoming', now(), 1, 1, 5, 't', 0, 0, 5, 5)`
    expect(await app`select quantity from stock_journal`).toEqual([{ quantity: 5 }])
    expect(await sqlstateOf(app`update stock_journal set quantity = 6`)).toBe('42501')
    expect(await sqlstateOf(app`delete from stock_journal`)).toBe('42501')
    expect(await sqlstateOf(app`create table nope (x int)`)).toBe('42501')
    expect(await sqlstateOf(app`update stock_levels set quantity = 1`)).toBe('ok')
  })

  it('carries statement and idle-in-transaction timeouts on the role', async () => {
    const [statement] = await app`show statement_timeout`
    const [idle] = await app`show idle_in_transaction_session_timeout`
    expect([statement?.statement_timeout, idle?.idle_in_transaction_session_timeout]).toEqual(['30s', '1min'])
  })
})
