// Turns one CSV record into a StockMovement, or into a rejection with a stable code a person can act on.
import { EVENT_TYPES, type EventType, type StockMovement } from '../schemas/contract.ts'
import {
  checkMovement,
  clipText as clip,
  INT_FIELD_MAX,
  isUuid,
  type MovementProblemCode,
  minQuantity,
} from '../schemas/movement-rules.ts'

/** The contract's own codes (schemas/movement-rules.ts) plus what only a CSV row can get wrong. */
export type RejectCode =
  | Exclude<MovementProblemCode, 'INVALID_PROVENANCE'>
  | 'BLANK_FIELD'
  | 'FIELD_COUNT'
  | 'DUPLICATE_IN_FILE'
  | 'UNTERMINATED_QUOTE'
  | 'MALFORMED_QUOTES'
  | 'ROW_TOO_LARGE'
  | 'INVALID_ENCODING'
  | 'CONTROL_CHARACTER'

export type RowResult =
  | { ok: true; movement: StockMovement }
  | { ok: false; code: RejectCode; message: string }

/** The seed's column names, with the alternative names we also accept. */
const COLUMNS = {
  transaction_id: ['transaction_id'],
  event_type: ['event_type'],
  date: ['date', 'occurred_at'],
  store_number: ['store_number'],
  item_number: ['item_number'],
  value: ['value', 'quantity'],
} as const

/** Columns a file may leave out: only the corrections use them, so the seed's six-column files stay valid. */
const OPTIONAL_COLUMNS = {
  to_store_number: ['to_store_number'],
  reverses: ['reverses'],
} as const

export type Column = keyof typeof COLUMNS
export type OptionalColumn = keyof typeof OPTIONAL_COLUMNS
const COLUMN_NAMES = Object.keys(COLUMNS) as Column[]
export type ColumnMap = Readonly<Record<Column, number>> &
  Readonly<Partial<Record<OptionalColumn, number>>> & { readonly width: number }

export type HeaderResult =
  | { ok: true; map: ColumnMap }
  | {
      ok: false
      missing: string[]
      /** Columns named more than once (`value` and `quantity`, say), each with the names found. */
      ambiguous: { column: Column | OptionalColumn; names: string[] }[]
    }

/**
 * Maps header names to positions. Names are matched after trimming and lower-casing; order is free. A
 * column named twice (`value` and `quantity`, or `date` twice) is refused rather than guessed at.
 */
export function mapHeader(header: string[]): HeaderResult {
  const names = header.map((h) => h.trim().toLowerCase())
  const map: Partial<Record<Column | OptionalColumn, number>> = {}
  const missing: string[] = []
  const ambiguous: { column: Column | OptionalColumn; names: string[] }[] = []
  const columns = [
    ...(Object.entries(COLUMNS) as [Column, readonly string[]][]).map((e) => [...e, true] as const),
    ...(Object.entries(OPTIONAL_COLUMNS) as [OptionalColumn, readonly string[]][]).map(
      (e) => [...e, false] as const,
    ),
  ]
  for (const [col, aliases, required] of columns) {
    const found = names.flatMap((n, i) => (aliases.includes(n) ? [i] : []))
    if (found.length === 0) {
      if (required) missing.push(col)
    } else if (found.length > 1) ambiguous.push({ column: col, names: found.map((i) => header[i]!.trim()) })
    else map[col] = found[0]
  }
  if (missing.length > 0 || ambiguous.length > 0) return { ok: false, missing, ambiguous }
  return { ok: true, map: { ...(map as Record<Column, number>), width: header.length } }
}

// ISO-8601 date-time with an explicit zone (Z or ±hh:mm / ±hhmm). A zone-less time is ambiguous.
const ISO_WITH_ZONE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}(?::?\d{2})?)$/i
const POSITIVE_INT = /^[1-9]\d*$/

const KNOWN_TYPES = new Set<string>(EVENT_TYPES)

/** Event types are matched after trimming and lower-casing: "Sale" and " sale " are a sale. */
export function parseEventType(raw: string): EventType | undefined {
  const v = raw.trim().toLowerCase()
  return KNOWN_TYPES.has(v) ? (v as EventType) : undefined
}

/** Epoch ms for an ISO-8601 timestamp with zone; undefined for anything else, including impossible dates. */
export function parseTimestamp(raw: string): number | undefined {
  const text = raw.trim()
  const m = ISO_WITH_ZONE.exec(text)
  if (!m) return undefined
  const [, y, mo, d, h, mi, s] = m
  const month = Number(mo)
  const day = Number(d)
  if (month < 1 || month > 12 || day < 1 || Number(h) > 23 || Number(mi) > 59 || Number(s ?? 0) > 59)
    return undefined
  // Date.parse rolls 30 February over into March, so check the day exists in its month.
  if (day > daysInMonth(Number(y), month)) return undefined
  const ms = Date.parse(text[10] === ' ' ? `${text.slice(0, 10)}T${text.slice(11)}` : text)
  return Number.isFinite(ms) ? ms : undefined
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/** Days in a month of the proleptic Gregorian calendar (what Date uses), month 1–12. */
export function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!
}

function wholeAtLeast(raw: string, min: number): number | undefined {
  const v = raw.trim()
  if (!(POSITIVE_INT.test(v) || (min === 0 && v === '0'))) return undefined
  const n = Number(v)
  return n <= INT_FIELD_MAX ? n : undefined
}

const positiveInt = (raw: string) => wholeAtLeast(raw, 1)

type Optional<T> = { ok: true; value: T | null } | { ok: false; code: RejectCode; message: string }

// Shared, so a row of the seed's six columns allocates nothing for the columns it does not have.
const ABSENT = Object.freeze({ ok: true, value: null }) as Optional<never>
const TO_STORE = { code: 'INVALID_TO_STORE', what: 'in to_store_number is not a positive integer' } as const
const REVERSES = { code: 'INVALID_REVERSES', what: 'in reverses is not a UUID' } as const
const readReverses = (v: string) => (isUuid(v) ? v.toLowerCase() : undefined)

/** A correction column: absent from the header or blank is null; anything else is read, or refused. */
function optionalCell<T>(
  fields: string[],
  at: number | undefined,
  read: (v: string) => T | undefined,
  refusal: { code: RejectCode; what: string },
): Optional<T> {
  if (at === undefined) return ABSENT
  const raw = fields[at]!.trim()
  if (raw === '') return ABSENT
  const value = read(raw)
  if (value !== undefined) return { ok: true, value }
  return { ok: false, code: refusal.code, message: `'${clip(raw)}' ${refusal.what}` }
}

export function parseRow(fields: string[], map: ColumnMap): RowResult {
  if (fields.length !== map.width) {
    return { ok: false, code: 'FIELD_COUNT', message: `expected ${map.width} fields, found ${fields.length}` }
  }
  const get = (c: Column) => fields[map[c]]!
  for (const c of COLUMN_NAMES) {
    if (get(c).trim() === '') return { ok: false, code: 'BLANK_FIELD', message: `${c} is blank` }
  }
  const id = get('transaction_id').trim()
  if (!isUuid(id))
    return { ok: false, code: 'INVALID_UUID', message: `transaction_id '${clip(id)}' is not a UUID` }
  const eventType = parseEventType(get('event_type'))
  if (!eventType) {
    return {
      ok: false,
      code: 'UNKNOWN_EVENT_TYPE',
      message: `event_type '${clip(get('event_type'))}' is not one of ${EVENT_TYPES.join(', ')}`,
    }
  }
  const occurredAt = parseTimestamp(get('date'))
  if (occurredAt === undefined) {
    return {
      ok: false,
      code: 'INVALID_DATE',
      message: `date '${clip(get('date'))}' is not an ISO-8601 date-time with a zone, e.g. 2019-04-14T03:47:13Z`,
    }
  }
  const store = positiveInt(get('store_number'))
  if (store === undefined) {
    return {
      ok: false,
      code: 'INVALID_STORE',
      message: `store_number '${clip(get('store_number'))}' is not a positive integer`,
    }
  }
  const item = positiveInt(get('item_number'))
  if (item === undefined) {
    return {
      ok: false,
      code: 'INVALID_ITEM',
      message: `item_number '${clip(get('item_number'))}' is not a positive integer`,
    }
  }
  const min = minQuantity(eventType)
  const quantity = wholeAtLeast(get('value'), min)
  if (quantity === undefined) {
    return {
      ok: false,
      code: 'INVALID_QUANTITY',
      message: `value '${clip(get('value'))}' is not a whole number from ${min} to ${INT_FIELD_MAX}`,
    }
  }
  const toStore = optionalCell(fields, map.to_store_number, positiveInt, TO_STORE)
  if (!toStore.ok) return toStore
  const reverses = optionalCell(fields, map.reverses, readReverses, REVERSES)
  if (!reverses.ok) return reverses
  const movement: StockMovement = {
    transaction_id: id.toLowerCase(),
    event_type: eventType,
    occurred_at: occurredAt,
    store_number: store,
    item_number: item,
    quantity,
  }
  // Only a row that has one carries a correction field, so an incoming or a sale stays the six fields.
  if (toStore.value !== null) movement.to_store_number = toStore.value
  if (reverses.value !== null) movement.reverses = reverses.value
  // The contract's own rules are the last word, so the importer never publishes what the processor refuses
  // (e.g. a zone offset that pushes a year-9999 date past the range).
  const problem = checkMovement(movement)
  if (problem) return { ok: false, code: problem.code as RejectCode, message: problem.message }
  return { ok: true, movement }
}
