// The SQL behind the ledger by business date and the balance report. Both read journal_entries alone.
//
// Indexes: an item's ledger reads its rows through stock_journal_item_entry (store_number, item_number,
// entry_id), the index the item page already uses, and sorts that item's rows by (occurred_at, entry_id)
// for the running balance: a sort of 41,000 narrow rows, done once per page. The balance report aggregates
// the journal in one pass (a scan of the journal, or of one store's part of it through the same index when
// a store is given) and pages the groups; the count, the totals and the page come from that one pass.
// No index was added: every journal index costs the processor a write per movement (see the README's
// Performance), and an index on (store_number, item_number, occurred_at) would only spare a sort the size
// of one item's history.
import type { Sql } from '../lib/db.ts'
import type { EventType } from '../schemas/contract.ts'
import { type BalanceLine, type BalanceQuery, balanceLine } from './balance-query.ts'
import type { PeriodBounds } from './ledger-query.ts'

/** Rows a CSV export asks the cursor for at a time. */
export const EXPORT_BATCH = 2000

export interface LedgerScope {
  store: number
  item: number
  bounds: PeriodBounds
  type: EventType | undefined
}

/** The item's rows up to the period's end, each with the balance by business date after it. */
function dated(sql: Sql, s: LedgerScope, columns: 'narrow' | 'wide') {
  const wide =
    columns === 'wide'
      ? sql`, leg, quantity, delta, quantity_after, to_store_number, reverses::text as reverses, source_file,
             source_line, transaction_id::text as transaction_id, applied_at`
      : sql``
  // A row's balance counts every earlier-dated row (ties in apply order), whatever its type; rows dated
  // after the period change nothing inside it and are left out before the sort.
  return sql`
    select entry_id, occurred_at, event_type ${wide},
           (sum(delta) over (order by occurred_at, entry_id rows between unbounded preceding and current row))::bigint
             as balance
    from journal_entries
    where store_number = ${s.store} and item_number = ${s.item}
      ${s.bounds.before ? sql`and occurred_at < ${s.bounds.before}` : sql``}`
}

/** The rows the filter shows, of those up to the period's end: from its start, of its type. */
function shown(sql: Sql, s: LedgerScope) {
  return sql`true
      ${s.bounds.since ? sql`and occurred_at >= ${s.bounds.since}` : sql``}
      ${s.type ? sql`and event_type = ${s.type}` : sql``}`
}

/** How many rows the filter shows, and the balance by business date at each end of the period. */
export async function ledgerSummary(sql: Sql, s: LedgerScope) {
  const [row] = await sql`
    select count(*) filter (where ${shown(sql, s)})::int as shown,
           coalesce(sum(delta) filter (where ${s.bounds.since ? sql`occurred_at < ${s.bounds.since}` : sql`false`}), 0)::bigint
             as opening,
           coalesce(sum(delta), 0)::bigint as closing
    from journal_entries
    where store_number = ${s.store} and item_number = ${s.item}
      ${s.bounds.before ? sql`and occurred_at < ${s.bounds.before}` : sql``}`
  return row as { shown: number; opening: number; closing: number }
}

/** One page of the ledger: the balances over the item's narrow rows, then the page's rows read in full. */
export function ledgerPage(sql: Sql, s: LedgerScope, limit: number, offset: number) {
  return sql`
    with dated as (${dated(sql, s, 'narrow')}),
    shown as (
      select entry_id, balance from dated where ${shown(sql, s)}
      order by occurred_at, entry_id
      limit ${limit} offset ${offset}
    )
    select j.entry_id, j.occurred_at, j.event_type, j.leg, j.quantity, j.delta, j.quantity_after, j.to_store_number,
           j.reverses::text as reverses, j.source_file, j.source_line, j.transaction_id::text as transaction_id,
           j.applied_at, s.balance
    from shown s
    join journal_entries j on j.store_number = ${s.store} and j.item_number = ${s.item} and j.entry_id = s.entry_id
    order by j.occurred_at, j.entry_id`
}

/** Every row the filter shows, in business-date order, through a cursor. */
export function ledgerRows(sql: Sql, s: LedgerScope) {
  return sql`
    with dated as (${dated(sql, s, 'wide')})
    select * from dated where ${shown(sql, s)}
    order by occurred_at, entry_id`.cursor(EXPORT_BATCH)
}

export const LEDGER_CSV_HEADER = [
  'business_date',
  'type',
  'leg',
  'change',
  'balance_by_business_date',
  'quantity_after_as_applied',
  'quantity',
  'to_store_number',
  'reverses',
  'source_file',
  'source_line',
  'transaction_id',
  'applied_at',
] as const

export function ledgerCsvCells(r: Record<string, unknown>) {
  return [
    r.occurred_at as Date,
    r.event_type as string,
    r.leg as number,
    r.delta as number,
    r.balance as number,
    r.quantity_after as number,
    r.quantity as number,
    r.to_store_number as number | null,
    r.reverses as string | null,
    r.source_file as string | null,
    r.source_line as number | null,
    r.transaction_id as string,
    r.applied_at as Date,
  ]
}

/**
 * Across stores, a movement between two of the stores shown (a transfer, or the reversal of one, whose
 * other leg is at a store in the range) moves nothing in or out of them: its legs are left out of in and
 * out, as they cancel in opening and closing. Only those two types have a second leg, so only their rows
 * pay for the lookup of it (by the journal's key), and the CASE keeps the lookup from every other row.
 */
function notInternalMove(sql: Sql, q: BalanceQuery) {
  if (q.by !== 'item') return sql``
  return sql`and not case when j.event_type in ('transfer', 'reversal') then exists (
      select 1 from journal_entries o
      where o.transaction_id = j.transaction_id and o.leg <> j.leg
        ${q.store ? sql`and o.store_number between ${q.store.from} and ${q.store.to}` : sql``}
    ) else false end`
}

/** The per-key sums of the report, grouped per store and item, or per item across the stores. */
function balanceSums(sql: Sql, q: BalanceQuery, b: PeriodBounds) {
  const inPeriod = sql`${b.since ? sql`and occurred_at >= ${b.since}` : sql``} ${notInternalMove(sql, q)}`
  const keys = q.by === 'item' ? sql`item_number` : sql`store_number, item_number`
  return sql`
    select ${keys}, ${q.by === 'item' ? sql`count(distinct store_number)::int as stores,` : sql``}
           coalesce(sum(delta) filter (where ${b.since ? sql`occurred_at < ${b.since}` : sql`false`}), 0)::bigint
             as opening,
           coalesce(sum(delta) filter (where delta > 0 ${inPeriod}), 0)::bigint as increases,
           coalesce(-sum(delta) filter (where delta < 0 ${inPeriod}), 0)::bigint as decreases
    from journal_entries j
    where true
      ${b.before ? sql`and occurred_at < ${b.before}` : sql``}
      ${q.store ? sql`and store_number between ${q.store.from} and ${q.store.to}` : sql``}
      ${q.item ? sql`and item_number between ${q.item.from} and ${q.item.to}` : sql``}
    group by ${keys}`
}

function balanceOrder(sql: Sql, q: BalanceQuery) {
  return q.by === 'item' ? sql`item_number` : sql`store_number, item_number`
}

export interface BalanceRow extends BalanceLine {
  store_number: number | null
  item_number: number
  stores: number | null
}

function toRow(r: Record<string, unknown>): BalanceRow {
  return {
    store_number: (r.store_number as number | undefined) ?? null,
    item_number: r.item_number as number,
    stores: (r.stores as number | undefined) ?? null,
    ...balanceLine({
      opening: r.opening as number,
      increases: r.increases as number,
      decreases: r.decreases as number,
    }),
  }
}

/**
 * One page of the report, with the number of rows and the totals over all of them (not only this page).
 * A page past the end (an old link) gives the last page, as `paging` numbers it, from the same single
 * aggregation: the sums are materialized once and both the page and the count read them.
 */
export async function balancePage(sql: Sql, q: BalanceQuery, b: PeriodBounds, limit: number, page: number) {
  const rows = await sql`
    with sums as materialized (${balanceSums(sql, q, b)}),
    whole as (
      select count(*)::int as total_rows, sum(opening)::bigint as all_opening,
             sum(increases)::bigint as all_increases, sum(decreases)::bigint as all_decreases
      from sums
    )
    select sums.*, whole.* from sums cross join whole
    order by ${balanceOrder(sql, q)}
    limit ${limit}
    offset (select (least(${page}::int, greatest(1, ceil(total_rows / ${limit}::numeric)::int)) - 1) * ${limit}::int
            from whole)`
  const first = rows[0]
  return {
    rows: rows.map(toRow),
    total: (first?.total_rows as number | undefined) ?? 0,
    totals: first
      ? balanceLine({
          opening: first.all_opening as number,
          increases: first.all_increases as number,
          decreases: first.all_decreases as number,
        })
      : undefined,
  }
}

/** Every row of the report, through a cursor, already closed (opening + in − out). */
export async function* balanceRows(sql: Sql, q: BalanceQuery, b: PeriodBounds): AsyncIterable<BalanceRow[]> {
  const cursor = sql`
    with sums as (${balanceSums(sql, q, b)})
    select * from sums order by ${balanceOrder(sql, q)}`.cursor(EXPORT_BATCH)
  for await (const batch of cursor) yield batch.map(toRow)
}

export function balanceCsvHeader(q: BalanceQuery): string[] {
  return [
    ...(q.by === 'item' ? ['item_number', 'stores'] : ['store_number', 'item_number']),
    'opening',
    'in',
    'out',
    'closing',
  ]
}

export function balanceCsvCells(q: BalanceQuery) {
  return (r: BalanceRow) => [
    ...(q.by === 'item' ? [r.item_number, r.stores] : [r.store_number, r.item_number]),
    r.opening,
    r.in,
    r.out,
    r.closing,
  ]
}

/** Whether anything at all was ever recorded for the item at the store: applied, parked or failed. */
export async function itemKnown(sql: Sql, store: number, item: number): Promise<boolean> {
  const [row] = await sql`
    select exists (select 1 from stock_keys where store_number = ${store} and item_number = ${item})
        or exists (select 1 from journal_entries where store_number = ${store} and item_number = ${item})
        or exists (select 1 from parked_sales_detail where store_number = ${store} and item_number = ${item})
        or exists (select 1 from errored_movements where store_number = ${store} and item_number = ${item})
      as known`
  return row!.known as boolean
}
