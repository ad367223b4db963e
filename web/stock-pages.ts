// Stock search and the item page (level chart, movements, parked sales, the audited threshold).
import type { FastifyInstance } from 'fastify'
import type { Sql } from '../lib/db.ts'
import { AppError, classifyDbError } from '../lib/errors.ts'
import { actorOf } from './auth.ts'
import { stepChart } from './chart.ts'
import { exportName, exportQuery, openCsv, refuseProblems, sendCsv } from './csv-export.ts'
import { EXPORT_BATCH } from './ledger-queries.ts'
import { flash, helpers } from './render.ts'
import {
  one,
  paging,
  parsePage,
  parseStockQuery,
  type StockQuery,
  sortLink,
  stockQueryString,
} from './stock-query.ts'
import type { WebDeps } from './web-deps.ts'

const STATE_WORDS: Record<string, string> = { OK: 'OK', LOW: 'low', OUT_OF_STOCK: 'out of stock' }

/** Points on the chart at most: a busy item's history is thinned to this many, keeping the latest. */
const CHART_POINTS = 400
/** Failed movements the item page lists; the Errors page, filtered on the item, has them all. */
const FAILURES_SHOWN = 20

const ORDER: Record<StockQuery['sort'], string> = {
  store: 'store_number %, item_number %',
  item: 'item_number %, store_number %',
  quantity: 'quantity %, store_number %, item_number %',
  updated: 'updated_at %, store_number %, item_number %',
}

/** The Stock page's filter, on stock_keys or stock_overview (both have the columns). */
function stockWhere(sql: Sql, q: StockQuery) {
  return sql`
    where true
      ${q.store ? sql`and store_number between ${q.store.from} and ${q.store.to}` : sql``}
      ${q.item ? sql`and item_number between ${q.item.from} and ${q.item.to}` : sql``}
      ${q.state === 'low' ? sql`and low_state > 0` : q.state === 'out' ? sql`and low_state = 2` : sql``}`
}

export async function searchStock(sql: Sql, q: StockQuery, pageSize: number) {
  const where = () => stockWhere(sql, q)
  // The column list comes from a fixed table above, never from the request. The page's keys are chosen on
  // the narrow view; only those rows are then joined with their thresholds.
  const order = ORDER[q.sort].replaceAll('%', q.dir)
  const page = (offset: number) => sql`
    with page as (
      select store_number, item_number from stock_keys ${where()}
      order by ${sql.unsafe(order)}
      limit ${pageSize} offset ${offset}
    )
    select o.store_number, o.item_number, o.quantity, o.state, o.threshold, o.updated_at
    from page join stock_overview o using (store_number, item_number)
    order by ${sql.unsafe(order)}`
  // The count and the page run at once, on two connections: on a big ledger each costs a scan.
  const [[counted], asked] = await Promise.all([
    sql`select count(*)::int as total from stock_keys ${where()}`,
    page((q.page - 1) * pageSize),
  ])
  const pg = paging((counted as { total: number }).total, q.page, pageSize)
  // A page past the end shows the last one, fetched again now that the count says which it is.
  const rows = pg.page === q.page ? asked : await page(pg.offset)
  return { rows, paging: pg }
}

/** Every row the Stock page's search matches, in its order, through a cursor: what its CSV export writes. */
export function stockRows(sql: Sql, q: StockQuery) {
  const order = ORDER[q.sort].replaceAll('%', q.dir)
  return sql`
    select store_number, item_number, quantity, state, threshold, item_threshold, store_threshold, updated_at
    from stock_overview ${stockWhere(sql, q)}
    order by ${sql.unsafe(order)}`.cursor(EXPORT_BATCH)
}

export const STOCK_CSV_HEADER = [
  'store_number',
  'item_number',
  'quantity',
  'state',
  'threshold',
  'threshold_from',
  'updated_at',
] as const

/** A stock row as CSV cells; an item without a threshold of its own or its store's has the default. */
export function stockCsvCells(defaultThreshold: number) {
  return (r: Record<string, unknown>) => [
    r.store_number as number,
    r.item_number as number,
    r.quantity as number,
    r.state as string,
    (r.threshold as number | null) ?? defaultThreshold,
    r.item_threshold !== null ? 'item' : r.store_threshold !== null ? 'store' : 'default',
    r.updated_at as Date,
  ]
}

export async function loadItem(sql: Sql, store: number, item: number, page: number, pageSize: number) {
  const [level] = await sql`
    select store_number, item_number, quantity, state, threshold, item_threshold, store_threshold, updated_at
    from stock_overview where store_number = ${store} and item_number = ${item}`
  const [{ total }] = (await sql`
    select count(*)::int as total from journal_entries where store_number = ${store} and item_number = ${item}`) as unknown as [
    { total: number },
  ]
  const pg = paging(total, page, pageSize)
  const [movements, series, parked, audit, lastCount, corrections, failures] = await Promise.all([
    sql`
      select transaction_id::text, event_type, quantity, delta, quantity_after, leg, to_store_number,
             reverses::text, occurred_at, applied_at, source_file, source_line
      from journal_entries where store_number = ${store} and item_number = ${item}
      order by entry_id desc
      limit ${pageSize} offset ${pg.offset}`,
    // The balance by business date after each movement (the running sum of its changes in occurred_at
    // order; ties in apply order), thinned evenly to CHART_POINTS; the count comes from the same statement,
    // so a movement applied meanwhile cannot make it skip the latest. Plotted by business date, a day of
    // sales applied within one second is a day of steps, not a cliff.
    sql`
      with steps as (
        select occurred_at,
               sum(delta) over (order by occurred_at, entry_id rows between unbounded preceding and current row)
                 as level,
               row_number() over (order by occurred_at, entry_id) as n,
               count(*) over () as total
        from journal_entries where store_number = ${store} and item_number = ${item}
      )
      select occurred_at, level::float8 as level from steps
      where (total - n) % greatest(1, ceil(total::numeric / ${CHART_POINTS}))::int = 0 or n = 1
      order by n`,
    sql`
      select transaction_id::text, quantity, reason, attempts, first_seen_at, next_attempt_at, source_file, source_line
      from parked_sales_detail where store_number = ${store} and item_number = ${item}
      order by first_seen_at`,
    sql`
      select old_threshold, new_threshold, actor, changed_at from threshold_audit
      where store_number = ${store} and item_number = ${item} order by changed_at desc limit 10`,
    sql`
      select counted, delta, occurred_at, applied_at from last_counts
      where store_number = ${store} and item_number = ${item}`,
    sql`
      select transaction_id::text, event_type, leg, delta, quantity_after, to_store_number, reverses::text,
             original_type, original_delta, occurred_at, applied_at
      from ledger_corrections where store_number = ${store} and item_number = ${item}
      order by entry_id desc limit 10`,
    // What failed for the item and was not re-driven: for an item whose every movement failed, all there is.
    sql`
      select transaction_id::text, code, kind, quantity, attempts, failed_at, source_file, source_line,
             count(*) over ()::int as total
      from errored_movements where store_number = ${store} and item_number = ${item}
      order by failed_at desc limit ${FAILURES_SHOWN}`,
  ])
  const chart = stepChart(
    series.map((s) => ({ t: (s.occurred_at as Date).getTime(), level: s.level as number })),
  )
  const failuresTotal = (failures[0]?.total as number | undefined) ?? 0
  return {
    level,
    movements,
    paging: pg,
    chart,
    parked,
    audit,
    lastCount: lastCount[0],
    corrections,
    failures,
    failuresTotal,
  }
}

/** A store or item number from the path: a positive 32-bit integer, or the page does not exist. */
export function keyPart(text: string): number {
  if (!/^\d{1,10}$/.test(text) || Number(text) > 2_147_483_647) {
    throw new AppError('NOT_FOUND', `'${text}' is not a store or item number`)
  }
  return Number(text)
}

/** The threshold field: a whole number ≥ 0, or empty to remove the item's own threshold. */
export function parseThreshold(text: string | undefined): number | null {
  const t = (text ?? '').trim()
  if (t === '') return null
  if (!/^\d{1,9}$/.test(t))
    throw new AppError('WEB_INPUT', `threshold '${t}' is not a whole number of 0 or more`)
  return Number(t)
}

export async function registerStockPages(app: FastifyInstance, deps: WebDeps): Promise<void> {
  const { sql, config } = deps
  // The default the processor runs with (it records it at start), which threshold edits judge by too; this
  // console's own setting only until a processor has started.
  const defaultThreshold = async (): Promise<number> => {
    const [row] = await sql`select low_stock_default from processor_settings`
    return (row?.low_stock_default as number | undefined) ?? config.processor.lowStockDefault
  }
  const size = config.web.pageSize

  app.get('/stock', async (req, reply) => {
    const { value: q, problems } = parseStockQuery(req.query as Record<string, string>)
    const found = await searchStock(sql, q, size)
    if (problems.length > 0) reply.code(400)
    return reply.page('stock', 'Stock', {
      q,
      problems,
      rows: found.rows,
      paging: found.paging,
      defaultThreshold: await defaultThreshold(),
      pageLink: (page: number) => `/stock${stockQueryString(q, { page })}`,
      csvLink: `/stock.csv${stockQueryString(q, { page: 1 })}`,
      sortLink: (column: StockQuery['sort']) => `/stock${sortLink(q, column)}`,
      sortState: (column: StockQuery['sort']) =>
        q.sort === column ? (q.dir === 'asc' ? 'ascending' : 'descending') : 'none',
    })
  })

  // The search's rows, all of them, with the same filters and order; the page number plays no part.
  app.get('/stock.csv', async (req, reply) => {
    const { value: q, problems } = parseStockQuery(exportQuery(req.query as Record<string, string>))
    refuseProblems(problems)
    const body = await openCsv(STOCK_CSV_HEADER, stockRows(sql, q), stockCsvCells(await defaultThreshold()))
    return sendCsv(reply, exportName(['stock', stockQueryString(q, { page: 1 }).slice(1)]), body)
  })

  app.get('/items/:store/:item', async (req, reply) => {
    const params = req.params as { store: string; item: string }
    const store = keyPart(params.store)
    const item = keyPart(params.item)
    const problems: string[] = []
    const page = parsePage(one(req.query as Record<string, string>, 'page'), problems)
    const data = await loadItem(sql, store, item, page, size)
    if (!data.level && data.paging.total === 0 && data.parked.length === 0 && data.failuresTotal === 0) {
      throw new AppError('NOT_FOUND', `store ${store} has no item ${item}: nothing was ever booked for it`)
    }
    return reply.page('item', `Store ${store} · item ${item}`, {
      store,
      item,
      ...data,
      problems,
      defaultThreshold: await defaultThreshold(),
      pageLink: (p: number) => `/items/${store}/${item}${p === 1 ? '' : `?page=${p}`}`,
      errorsLink: helpers.href('/errors', { store, item }),
    })
  })

  app.post('/items/:store/:item/threshold', { preHandler: app.csrfProtection }, async (req, reply) => {
    const params = req.params as { store: string; item: string }
    const store = keyPart(params.store)
    const item = keyPart(params.item)
    const threshold = parseThreshold(one((req.body ?? {}) as Record<string, string>, 'threshold'))
    let state: string | null
    try {
      const [row] = await sql`
        select set_item_threshold(${store}, ${item}, ${threshold}, ${actorOf(req)}) as state`
      state = row!.state as string | null
    } catch (err) {
      if ((err as { code?: string }).code === '22023') throw new AppError('WEB_INPUT', (err as Error).message)
      throw classifyDbError(err, { op: 'set-threshold', store, item })
    }
    req.log.info({ store, item, threshold, state, actor: actorOf(req) }, 'threshold changed from the console')
    const now = state === null ? '' : ` The item is now ${STATE_WORDS[state] ?? state}.`
    flash(
      req,
      'ok',
      threshold === null
        ? `Item ${item} at store ${store} now uses the store's threshold (or the default).${now}`
        : `Threshold for item ${item} at store ${store} set to ${threshold}.${now}`,
    )
    return reply.redirect(`/items/${store}/${item}`)
  })
}
