// The Stock page's query, as the URL carries it: parsed and checked here, so a shared link means one thing
// and a bad one gets a message instead of a guess.

export interface IntRange {
  from: number
  to: number
}

export type StockState = 'all' | 'low' | 'out'
export const SORT_COLUMNS = ['store', 'item', 'quantity', 'updated'] as const
export type SortColumn = (typeof SORT_COLUMNS)[number]

export interface StockQuery {
  store: IntRange | undefined
  item: IntRange | undefined
  state: StockState
  sort: SortColumn
  dir: 'asc' | 'desc'
  page: number
}

export interface Parsed<T> {
  value: T
  /** One message per field that was wrong; the field falls back to its default. */
  problems: string[]
}

const MAX_INT = 2_147_483_647

/** "12", "10-20" or "10..20" as an inclusive range; undefined for an empty field. */
export function parseRange(
  text: string | undefined,
  label: string,
  problems: string[],
): IntRange | undefined {
  const t = (text ?? '').trim()
  if (t === '') return undefined
  const m = /^(\d{1,10})(?:\s*(?:-|\.\.)\s*(\d{1,10}))?$/.exec(t)
  if (!m) {
    problems.push(`${label}: '${t}' is not a number or a range such as 10-20`)
    return undefined
  }
  const from = Number(m[1])
  const to = m[2] === undefined ? from : Number(m[2])
  if (from > MAX_INT || to > MAX_INT) {
    problems.push(`${label}: numbers go up to ${MAX_INT}`)
    return undefined
  }
  if (to < from) {
    problems.push(`${label}: the range ${from}-${to} is empty (the first number must not be larger)`)
    return undefined
  }
  return { from, to }
}

function pick<T extends string>(
  text: string | undefined,
  allowed: readonly T[],
  fallback: T,
  label: string,
  problems: string[],
): T {
  if (text === undefined || text === '') return fallback
  if ((allowed as readonly string[]).includes(text)) return text as T
  problems.push(`${label}: '${text}' is not one of ${allowed.join(', ')}`)
  return fallback
}

export function parsePage(text: string | undefined, problems: string[]): number {
  if (text === undefined || text === '') return 1
  if (!/^\d{1,6}$/.test(text) || Number(text) < 1) {
    problems.push(`page: '${text}' is not a page number`)
    return 1
  }
  return Number(text)
}

type QueryInput = Record<string, string | string[] | undefined>

/**
 * A single value of a query parameter or form field: a repeated one is a mistake, and its first value is
 * used; anything that is not text is no value at all.
 */
export function one(q: QueryInput, key: string): string | undefined {
  const v = q[key]
  const first = Array.isArray(v) ? v[0] : v
  return typeof first === 'string' ? first : undefined
}

export function parseStockQuery(q: QueryInput): Parsed<StockQuery> {
  const problems: string[] = []
  const value: StockQuery = {
    store: parseRange(one(q, 'store'), 'Store', problems),
    item: parseRange(one(q, 'item'), 'Item', problems),
    state: pick(one(q, 'state'), ['all', 'low', 'out'] as const, 'all', 'State', problems),
    sort: pick(one(q, 'sort'), SORT_COLUMNS, 'store', 'Sort', problems),
    dir: pick(one(q, 'dir'), ['asc', 'desc'] as const, 'asc', 'Direction', problems),
    page: parsePage(one(q, 'page'), problems),
  }
  return { value, problems }
}

/** A range as the URL and the form write it: `5`, or `10-20`. */
export function rangeText(r: IntRange | undefined): string | undefined {
  if (!r) return undefined
  return r.from === r.to ? String(r.from) : `${r.from}-${r.to}`
}

/** The query string for a query, with defaults left out, so links stay short and stable. */
export function stockQueryString(q: StockQuery, change: Partial<StockQuery> = {}): string {
  const v = { ...q, ...change }
  const params = new URLSearchParams()
  const store = rangeText(v.store)
  const item = rangeText(v.item)
  if (store) params.set('store', store)
  if (item) params.set('item', item)
  if (v.state !== 'all') params.set('state', v.state)
  if (v.sort !== 'store') params.set('sort', v.sort)
  if (v.dir !== 'asc') params.set('dir', v.dir)
  if (v.page !== 1) params.set('page', String(v.page))
  const s = params.toString()
  return s ? `?${s}` : ''
}

/** The link a column header carries: sorts by it, and a second click reverses the direction. */
export function sortLink(q: StockQuery, column: SortColumn): string {
  const dir = q.sort === column && q.dir === 'asc' ? 'desc' : 'asc'
  return stockQueryString(q, { sort: column, dir, page: 1 })
}

export interface Paging {
  page: number
  pages: number
  offset: number
  total: number
}

/** Which rows a page shows; a page past the end shows the last one. */
export function paging(total: number, page: number, size: number): Paging {
  const pages = Math.max(1, Math.ceil(total / size))
  const p = Math.min(Math.max(1, page), pages)
  return { page: p, pages, offset: (p - 1) * size, total }
}
