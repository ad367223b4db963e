// The balance report's query and arithmetic: a period of business dates (or everything up to an "as of"
// date), store and item ranges, per store or for all stores together, and a page.
import { type Period, parsePeriod } from './ledger-query.ts'
import { type IntRange, one, type Parsed, parsePage, parseRange, rangeText } from './stock-query.ts'

type QueryInput = Record<string, string | string[] | undefined>

export type BalanceScope = 'store' | 'item'

export interface BalanceQuery extends Period {
  store: IntRange | undefined
  item: IntRange | undefined
  /** 'store': a row per store and item; 'item': a row per item, its stores added together. */
  by: BalanceScope
  page: number
}

export function parseBalanceQuery(q: QueryInput): Parsed<BalanceQuery> {
  const problems: string[] = []
  const period = parsePeriod(q, problems)
  const store = parseRange(one(q, 'store'), 'Store', problems)
  const item = parseRange(one(q, 'item'), 'Item', problems)
  const byText = one(q, 'by')
  let by: BalanceScope = 'store'
  if (byText === 'item') by = 'item'
  else if (byText !== undefined && byText !== '' && byText !== 'store')
    problems.push(`Rows: '${byText}' is not one of store, item`)
  return { value: { ...period, store, item, by, page: parsePage(one(q, 'page'), problems) }, problems }
}

/** The query as parameters, defaults left out: for the form's links, the pager and the CSV export. */
export function balanceParams(q: BalanceQuery, change: Partial<BalanceQuery> = {}): Record<string, string> {
  const v = { ...q, ...change }
  const out: Record<string, string> = {}
  if (v.from) out.from = v.from
  if (v.to) out.to = v.to
  const store = rangeText(v.store)
  const item = rangeText(v.item)
  if (store) out.store = store
  if (item) out.item = item
  if (v.by !== 'store') out.by = v.by
  if (v.page !== 1) out.page = String(v.page)
  return out
}

/** What Postgres sums for a row: the deltas before the period, and the increases and decreases inside it. */
export interface BalanceSums {
  opening: number
  increases: number
  /** The sum of the period's negative deltas, as a positive number. */
  decreases: number
}

export interface BalanceLine {
  opening: number
  in: number
  out: number
  closing: number
}

/** Closing is what the period started with, plus what came in, minus what went out. */
export function balanceLine(s: BalanceSums): BalanceLine {
  return {
    opening: s.opening,
    in: s.increases,
    out: s.decreases,
    closing: s.opening + s.increases - s.decreases,
  }
}

/** How the report names its period, for the caption and the CSV file name. */
export function periodWords(p: Period): string {
  if (p.from && p.to) return p.from === p.to ? `on ${p.from}` : `from ${p.from} to ${p.to}`
  // Not "today": a movement may be dated in the future, and it counts here.
  if (p.from) return `from ${p.from} to the latest date`
  if (p.to) return `as of the end of ${p.to}`
  return 'since the first movement'
}
