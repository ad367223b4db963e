// Migration 015 on a ledger written before it: the running balance of the old rows is filled in in the
// order they were applied, which for a sale released by an incoming is not the order of their offsets.
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { createSql, migrate } from '../lib/db.ts'
import { uniqueName } from './support/context.ts'

const MIGRATIONS = new URL('../db/migrations/', import.meta.url).pathname

describe('migration 015 on an existing ledger', () => {
  const schema = uniqueName('backfill')
  const sql = createSql({ url: inject('stack').DATABASE_URL, schema, max: 1, name: 'test-backfill' })
  let before: string
  afterAll(async () => {
    await sql.end({ timeout: 5 })
    await rm(before, { recursive: true, force: true })
  })

  it('fills delta and quantity_after in apply order', async () => {
    before = await mkdtemp(join(tmpdir(), 'stockflow-migrations-'))
    for (const f of await readdir(MIGRATIONS)) if (f < '015') await cp(join(MIGRATIONS, f), join(before, f))
    await migrate(sql, { schema, dir: before })
    const row = (id: number, type: string, qty: number, offset: number) =>
      sql`
        insert into stock_journal (transaction_id, event_type, occurred_at, store_number, item_number, quantity, topic,
                                   partition, "offset")
        values (${`00000000-0000-4000-8000-${String(id).padStart(12, '0')}`}, ${type}, now(), 1, 1, ${qty}, 't', 0,
                ${offset})`
    await row(1, 'incoming', 3, 5)
    // As the old processor wrote it: one transaction, the incoming at offset 20 and the sale it released,
    // parked from offset 10, after it.
    await sql.begin(async (tx) => {
      await tx`
        insert into stock_journal (transaction_id, event_type, occurred_at, store_number, item_number, quantity,
                                   topic, partition, "offset")
        values ('00000000-0000-4000-8000-000000000002', 'incoming', now(), 1, 1, 10, 't', 0, 20),
               ('00000000-0000-4000-8000-000000000003', 'sale', now(), 1, 1, 5, 't', 0, 10)`
    })
    await migrate(sql, { schema })
    const rows = await sql`select "offset", delta, quantity_after from stock_journal order by entry_id`
    expect(rows.map((r) => [r.offset, r.delta, r.quantity_after])).toEqual([
      [5, 3, 3],
      [20, 10, 13],
      [10, -5, 8],
    ])
  })
})
