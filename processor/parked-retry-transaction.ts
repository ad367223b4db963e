// Scheduled retries of parked sales. One selection decides everything: the most overdue sales, at most
// `maxRows`, and exactly their keys. Keys are locked in the same order as batch applies, so a retry and a
// batch touching one item serialise instead of deadlocking, and every selected sale is retried or times
// out, however large the backlog.
import type { Sql } from '../lib/db.ts'
import { classifyDbError } from '../lib/errors.ts'
import { type Changes, lockOrder, type RetryPolicy } from './ledger-model.ts'
import { groupByKey, lockDueParked, lockLevels, selectDueParked, writeChanges } from './ledger-store.ts'
import { retryParked } from './plan-movements.ts'

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

/** One pass over due parked sales; undefined when none is due. */
export async function retryDueParked(deps: RetryDeps, maxRows = 5000): Promise<RetryPass | undefined> {
  const now = deps.clock()
  try {
    const selected = await selectDueParked(deps.sql, now, maxRows)
    if (selected.length === 0) return undefined
    return await deps.sql.begin(async (tx) => {
      const levels = await lockLevels(tx, lockOrder(selected), deps.lowStockDefault)
      const due = await lockDueParked(
        tx,
        selected.map((s) => s.id),
        now,
      )
      const changes = retryParked(due, {
        levels,
        parked: groupByKey(due),
        now,
        policy: deps.policy,
        topics: deps.topics,
      })
      await writeChanges(tx, changes, levels)
      return { changes, retried: due.length, more: selected.length === maxRows }
    })
  } catch (err) {
    throw classifyDbError(err, { op: 'retry-parked' })
  }
}
