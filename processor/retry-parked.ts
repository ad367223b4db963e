// Scheduled retries of parked sales: due keys are locked in the same order as batch applies,
// so a retry and a batch touching one item serialise instead of deadlocking.
import type { Sql } from '../lib/db.ts'
import { classifyDbError } from '../lib/errors.ts'
import { retryParked } from './apply-movements.ts'
import type { Changes, RetryPolicy } from './ledger-model.ts'
import { dueParkedKeys, loadParked, lockLevels, writeChanges } from './ledger-store.ts'

export interface RetryDeps {
  sql: Sql
  clock: () => number
  policy: RetryPolicy
  topics: { errors: string; lowStock: string }
  lowStockDefault: number
}

/** One pass over due parked sales (at most `maxKeys` items, `maxRows` sales); returns what it changed. */
export async function retryDueParked(
  deps: RetryDeps,
  maxKeys = 500,
  maxRows = 5000,
): Promise<Changes | undefined> {
  const now = deps.clock()
  try {
    const keys = await dueParkedKeys(deps.sql, now, maxKeys)
    if (keys.length === 0) return undefined
    return await deps.sql.begin(async (tx) => {
      const levels = await lockLevels(tx, keys, deps.lowStockDefault)
      // Only what is still due (another processor may have retried these keys since we looked), in bounded passes.
      const parked = await loadParked(tx, keys, { at: now, limit: maxRows })
      const due = [...parked.values()].flat()
      const changes = retryParked(due, { levels, parked, now, policy: deps.policy, topics: deps.topics })
      await writeChanges(tx, changes, levels)
      return changes
    })
  } catch (err) {
    throw classifyDbError(err, { op: 'retry-parked' })
  }
}
