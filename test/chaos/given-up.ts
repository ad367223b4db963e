// Sales that the processor gave up on because their stock came too late. Whether a sale's stock arrives
// within its retry attempts depends on how long the run's kills, restarts and rebalances stall a partition,
// which no seed fixes: under a CPU hog the same seed gives up on more. So the ground truth allows both
// outcomes of such a sale, and checks that the one taken is whole: a sale the processor gave up on after
// every attempt, as INSUFFICIENT_STOCK or UNKNOWN_ITEM, is not in the journal, is on `errors`, and left its
// quantity in stock. A reversal that waited for its incoming original in vain is the same case: it would
// have taken its quantity out, and it did not. Anything else (a sale lost, applied twice, or given up early) still fails the run.
import type { Sql } from '../../lib/db.ts'

export interface GivenUp {
  id: string
  key: string
  quantity: number
  errorId: string
}

export async function givenUpSales(sql: Sql, expected: Set<string>, maxAttempts: number): Promise<GivenUp[]> {
  const rows = await sql`
    select transaction_id::text as id, store_number || ':' || item_number as k, quantity, error_id
    from failed_movements
    where redriven_at is null and attempts >= ${maxAttempts}
      and ((event_type = 'sale' and code in ('INSUFFICIENT_STOCK', 'UNKNOWN_ITEM'))
        or (event_type = 'reversal' and code = 'UNKNOWN_ORIGINAL'))`
  return rows
    .filter((r) => expected.has(r.id as string))
    .map((r) => ({
      id: r.id as string,
      key: r.k as string,
      quantity: r.quantity as number,
      errorId: r.error_id as string,
    }))
}

/** The expected stock with the quantities of the sales given up on put back. */
export function withGivenUp(stock: Map<string, number>, givenUp: GivenUp[]): Map<string, number> {
  const out = new Map(stock)
  for (const g of givenUp) out.set(g.key, (out.get(g.key) ?? 0) + g.quantity)
  return out
}
