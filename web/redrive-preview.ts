// The re-drive preview: the dry run `stockflow redrive --dry-run` makes (audited as one), with each batch
// walked through the forecast against the ledger's stock in the same snapshot, so the page can say, per
// store and item, which movements will fail again before anything is sent.

import { type FailedMovement, type RedriveFilter, redrive } from '../ledger/redrive.ts'
import {
  createRedriveForecast,
  type ForecastGroup,
  type ForecastOutcome,
} from '../ledger/redrive-forecast.ts'
import type { Sql, Tx } from '../lib/db.ts'

/** Rows a preview lists; the confirmation covers all of them either way (by digest). */
export const PREVIEW_ROWS = 500
/** Store/item groups a preview lists, the ones with movements that will fail again first. */
export const PREVIEW_GROUPS = 200
/** Movements the forecast walks; a larger selection is previewed and sent whole, but foretold in part. */
export const FORECAST_MAX = 100_000

export interface RedrivePreview {
  auditId: number
  count: number
  digest: string
  rows: (FailedMovement & { outcome: ForecastOutcome })[]
  groups: ForecastGroup[]
  /** Groups in the forecast, of which `groups` lists the first PREVIEW_GROUPS. */
  groupCount: number
  totals: { applies: number; failAgain: number; unknown: number }
  /** Movements the forecast walked: all of them, unless the selection is over FORECAST_MAX. */
  forecast: number
}

async function stockOf(tx: Tx, keys: { store: number; item: number }[]) {
  return tx`
    select k.store_number, k.item_number, s.quantity
    from unnest(${keys.map((k) => k.store)}::int[], ${keys.map((k) => k.item)}::int[]) as k(store_number, item_number)
    left join stock_keys s on s.store_number = k.store_number and s.item_number = k.item_number`
}

export async function previewRedrive(
  sql: Sql,
  filter: RedriveFilter,
  actor: string,
): Promise<RedrivePreview> {
  const forecast = createRedriveForecast()
  const outcomes = new Map<string, ForecastOutcome>()
  let walked = 0
  const result = await redrive({
    sql,
    send: undefined,
    filter,
    dryRun: true,
    actor,
    firstRows: PREVIEW_ROWS,
    each: async (rows, tx) => {
      const missing = forecast.missing(rows)
      if (missing.length > 0) {
        for (const r of await stockOf(tx, missing)) {
          const q = r.quantity as number | null
          forecast.stock(
            r.store_number as number,
            r.item_number as number,
            q === null ? undefined : { quantity: q, known: true },
          )
        }
      }
      for (const r of rows) {
        const outcome = forecast.next(r)
        if (walked < PREVIEW_ROWS) outcomes.set(r.transaction_id, outcome)
        walked++
      }
      return walked < FORECAST_MAX
    },
  })
  const groups = forecast.groups()
  // The ones that need stock booked first: what a person acts on before confirming.
  const ordered = [...groups.filter((g) => g.failAgain > 0), ...groups.filter((g) => g.failAgain === 0)]
  return {
    auditId: result.auditId,
    count: result.count,
    digest: result.digest,
    rows: result.first.map((r) => ({ ...r, outcome: outcomes.get(r.transaction_id) ?? 'unknown' })),
    groups: ordered.slice(0, PREVIEW_GROUPS),
    groupCount: groups.length,
    totals: forecast.totals(),
    forecast: walked,
  }
}
