// The item ledger's query, as the URL carries it: a period of business dates (whole UTC days, both ends
// included), a movement type and a page. Parsed and checked here, so a bad link gets a message.
import { EVENT_TYPES, type EventType } from '../schemas/contract.ts'
import { OCCURRED_AT_MAX, OCCURRED_AT_MIN } from '../schemas/movement-rules.ts'
import { one, type Parsed, parsePage } from './stock-query.ts'

type QueryInput = Record<string, string | string[] | undefined>

const DAY_MS = 86_400_000

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10)
const FIRST_DAY = dayOf(OCCURRED_AT_MIN)
const LAST_DAY = dayOf(OCCURRED_AT_MAX)

/** A period of business dates; either end may be open. Days are YYYY-MM-DD, in UTC. */
export interface Period {
  from: string | undefined
  to: string | undefined
}

/** The period as instants: `since` included, `before` excluded (the day after `to`, so `to` is a whole day). */
export interface PeriodBounds {
  since: Date | undefined
  before: Date | undefined
}

/** A calendar date written YYYY-MM-DD that exists (no 2024-02-30); undefined for an empty field. */
export function parseDay(text: string | undefined, label: string, problems: string[]): string | undefined {
  const t = (text ?? '').trim()
  if (t === '') return undefined
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(t)
  // Date.UTC rolls 02-30 over into March (and years below 100 into the 1900s); reading it back catches both.
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== t) {
    problems.push(`${label}: '${t}' is not a date written as YYYY-MM-DD`)
    return undefined
  }
  // The contract's years: a movement is never dated outside them, so nothing is lost by refusing them.
  if (ms < OCCURRED_AT_MIN || ms > OCCURRED_AT_MAX) {
    problems.push(`${label}: '${t}' is out of range; give a date from ${FIRST_DAY} to ${LAST_DAY}`)
    return undefined
  }
  return t
}

export function parsePeriod(q: QueryInput, problems: string[]): Period {
  const from = parseDay(one(q, 'from'), 'From', problems)
  const to = parseDay(one(q, 'to'), 'To', problems)
  if (from !== undefined && to !== undefined && to < from) {
    problems.push(`To: ${to} is before ${from}, so the period is empty`)
    return { from, to: undefined }
  }
  return { from, to }
}

export function periodBounds(p: Period): PeriodBounds {
  return {
    since: p.from === undefined ? undefined : new Date(`${p.from}T00:00:00Z`),
    // The day after the contract's last one would be year 10000, which neither toISOString nor Postgres
    // writes as a plain timestamp; nothing is dated after it, so that period has no upper bound.
    before:
      p.to === undefined || p.to === LAST_DAY
        ? undefined
        : new Date(Date.parse(`${p.to}T00:00:00Z`) + DAY_MS),
  }
}

export interface LedgerQuery extends Period {
  type: EventType | undefined
  page: number
}

export function parseLedgerQuery(q: QueryInput): Parsed<LedgerQuery> {
  const problems: string[] = []
  const period = parsePeriod(q, problems)
  const typeText = one(q, 'type')?.trim()
  let type: EventType | undefined
  if (typeText) {
    if ((EVENT_TYPES as readonly string[]).includes(typeText)) type = typeText as EventType
    else problems.push(`Type: '${typeText}' is not one of ${EVENT_TYPES.join(', ')}`)
  }
  return { value: { ...period, type, page: parsePage(one(q, 'page'), problems) }, problems }
}

/** The filters as query parameters, defaults left out: for links, the pager and the CSV export. */
export function ledgerParams(q: LedgerQuery, change: Partial<LedgerQuery> = {}): Record<string, string> {
  const v = { ...q, ...change }
  const out: Record<string, string> = {}
  if (v.from) out.from = v.from
  if (v.to) out.to = v.to
  if (v.type) out.type = v.type
  if (v.page !== 1) out.page = String(v.page)
  return out
}
