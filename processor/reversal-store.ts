// What a reversal needs from the journal: its original, and whether another reversal has cancelled it.
import type { Tx } from '../lib/db.ts'
import type { Original } from './ledger-model.ts'
import { toMovement } from './ledger-store.ts'

/**
 * The applied movements a reversal may cancel, with what each did to each store. Every id asked for is in
 * the answer: null when the journal does not have it (yet).
 */
export async function loadOriginals(tx: Tx, ids: string[]): Promise<Map<string, Original | null>> {
  const out = new Map<string, Original | null>(ids.map((id) => [id, null]))
  if (ids.length === 0) return out
  const rows = await tx`
    select transaction_id::text, leg, event_type, occurred_at, store_number, item_number, quantity, delta,
           to_store_number, reverses::text
    from stock_journal where transaction_id = any(${ids}::uuid[])
    order by transaction_id, leg`
  for (const r of rows) {
    const id = r.transaction_id as string
    const leg = { store: r.store_number as number, delta: Number(r.delta) }
    const known = out.get(id)
    if (known) known.legs.push(leg)
    else out.set(id, { movement: toMovement(r), legs: [leg] })
  }
  return out
}

/** The reversal, applied or parked, that cancels each of `ids` that has one. Call with the levels locked. */
export async function loadReversedBy(tx: Tx, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map()
  const rows = await tx`
    select reverses::text as original, transaction_id::text as reversal from stock_journal
      where reverses = any(${ids}::uuid[]) and leg = 1
    union all
    select reverses::text, transaction_id::text from parked_sales where reverses = any(${ids}::uuid[])`
  return new Map(rows.map((r) => [r.original as string, r.reversal as string]))
}
