// Scheduled retries of parked sales. One selection decides everything: the most overdue sales, at most
// `maxRows`, and exactly their keys. Keys are locked in the same order as batch applies, so a retry and a
// batch touching one item serialise instead of deadlocking, and every selected sale is retried or times
// out, however large the backlog.
import type { Sql } from '../lib/db.ts'
import { classifyDbError } from '../lib/errors.ts'
import {
  type Changes,
  lockOrder,
  type Original,
  type Parked,
  type RetryPolicy,
  type StoreItem,
} from './ledger-model.ts'
import {
  type DueParked,
  groupByKey,
  loadParked,
  lockDueParked,
  lockLevels,
  selectDueParked,
  writeChanges,
} from './ledger-store.ts'
import { retryParked } from './plan-movements.ts'
import { loadOriginals, loadReversedBy } from './reversal-store.ts'

export interface RetryDeps {
  sql: Sql
  clock: () => number
  policy: RetryPolicy
  topics: { errors: string; lowStock: string }
  lowStockDefault: number
}

export interface RetryPass {
  changes: Changes
  /** Sales retried (or timed out) in this pass. */
  retried: number
  /** The selection was full: more sales may be due right now. */
  more: boolean
}

const itemOf = (p: Parked): StoreItem => ({ store: p.movement.store_number, item: p.movement.item_number })

/** The items a retry of `selected` may change: each one's own, a transfer's destination, a reversed original's. */
function dueItems(selected: DueParked[], originals: Map<string, Original | null> | undefined): StoreItem[] {
  return selected.flatMap((s) => [
    { store: s.store, item: s.item },
    ...(s.toStore === null ? [] : [{ store: s.toStore, item: s.item }]),
    ...(originals?.get(s.reverses ?? '')?.legs ?? []).map((l) => ({ store: l.store, item: s.item })),
  ])
}

/** One pass over due parked sales; undefined when none is due. */
export async function retryDueParked(deps: RetryDeps, maxRows = 5000): Promise<RetryPass | undefined> {
  const now = deps.clock()
  try {
    const selected = await selectDueParked(deps.sql, now, maxRows)
    if (selected.length === 0) return undefined
    return await deps.sql.begin(async (tx) => {
      const targets = [...new Set(selected.flatMap((s) => (s.reverses ? [s.reverses] : [])))]
      const originals = targets.length > 0 ? await loadOriginals(tx, targets) : undefined
      const levels = await lockLevels(tx, lockOrder(dueItems(selected, originals)), deps.lowStockDefault)
      let due = await lockDueParked(
        tx,
        selected.map((s) => s.id),
        now,
      )
      const parked = groupByKey(due)
      if (originals) {
        // A reversal withdraws its original if that is parked, due or not: its key's whole list is read,
        // and the due movements of that key are taken from it, so each parked movement is one object.
        const lists = await loadParked(tx, lockOrder(due.filter((p) => p.movement.reverses).map(itemOf)))
        const byId = new Map([...lists.values()].flat().map((p) => [p.movement.transaction_id, p]))
        due = due.map((p) => byId.get(p.movement.transaction_id) ?? p)
        for (const [key, list] of lists) parked.set(key, list)
      }
      const changes = retryParked(due, {
        levels,
        parked,
        now,
        policy: deps.policy,
        topics: deps.topics,
        ...(originals ? { originals, reversedBy: await loadReversedBy(tx, targets) } : {}),
      })
      await writeChanges(tx, changes, levels)
      return { changes, retried: due.length, more: selected.length === maxRows }
    })
  } catch (err) {
    throw classifyDbError(err, { op: 'retry-parked' })
  }
}
