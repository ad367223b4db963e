// The item master as a CSV (#23): recognising an item file by its header and checking its rows. Pure: the
// importer feeds records in and gets either every item, ready for one load, or every reason not to load.
import { firstHidden, HIDDEN_ALL } from '../ledger/hidden-characters.ts'
import type { Rejection } from '../ledger/input-folder.ts'
import { clipText as clip, INT_FIELD_MAX } from '../schemas/movement-rules.ts'
import type { CsvRecord, RecordProblem } from './read-records.ts'
import { MAX_LISTED_REJECTIONS } from './receipt.ts'

const ITEM_COLUMNS = ['item_number', 'name', 'unit'] as const
type ItemColumn = (typeof ITEM_COLUMNS)[number]

export const MAX_NAME_CHARS = 120
export const MAX_UNIT_CHARS = 20
/** Limits that keep a whole file of items, held for its one load, well inside the importer's heap. */
export const ITEM_LIMITS = { maxItems: 100_000, maxJsonBytes: 12 * 1024 * 1024 } as const

export interface ItemColumns {
  item_number: number
  name: number
  unit: number | undefined
  width: number
}

export type ItemHeader =
  | { ok: true; columns: ItemColumns }
  | { ok: false; code: 'AMBIGUOUS_COLUMNS'; message: string }

/**
 * An item file's header names item_number and name, and maybe unit, in any order, nothing else (blank
 * names aside, as a spreadsheet's trailing comma leaves). Undefined for anything else: a movement file.
 */
export function itemHeader(fields: readonly string[]): ItemHeader | undefined {
  const names = fields.map((f) => f.trim().toLowerCase())
  const known = new Set<string>(ITEM_COLUMNS)
  if (!names.every((n) => n === '' || known.has(n))) return undefined
  if (!names.includes('item_number') || !names.includes('name')) return undefined
  const at = (c: ItemColumn) => names.flatMap((n, i) => (n === c ? [i] : []))
  const twice = ITEM_COLUMNS.filter((c) => at(c).length > 1)
  if (twice.length > 0) {
    return {
      ok: false,
      code: 'AMBIGUOUS_COLUMNS',
      message: `the header names ${twice.join(', ')} more than once; keep one of each and drop the file again`,
    }
  }
  return {
    ok: true,
    columns: {
      item_number: at('item_number')[0]!,
      name: at('name')[0]!,
      unit: at('unit')[0],
      width: fields.length,
    },
  }
}

export interface Item {
  item_number: number
  name: string
  unit: string | null
}

export type ItemProblemCode =
  | 'INVALID_ITEM'
  | 'INVALID_NAME'
  | 'INVALID_UNIT'
  | 'DUPLICATE_IN_FILE'
  | 'FIELD_COUNT'
  | RecordProblem

type Checked<T> = { ok: true; value: T } | { ok: false; code: ItemProblemCode; message: string }

export function readItemNumber(raw: string): Checked<number> {
  const v = raw.trim()
  if (v === '') return { ok: false, code: 'INVALID_ITEM', message: 'item_number is blank' }
  const n = /^\d+$/.test(v) ? Number(v) : Number.NaN
  if (!(n <= INT_FIELD_MAX)) {
    return {
      ok: false,
      code: 'INVALID_ITEM',
      message: `item_number '${clip(v)}' is not a whole number from 0 to ${INT_FIELD_MAX}`,
    }
  }
  return { ok: true, value: n }
}

function readText(raw: string, what: 'name' | 'unit', max: number): Checked<string> {
  const code = what === 'name' ? 'INVALID_NAME' : 'INVALID_UNIT'
  const v = raw.trim()
  const chars = [...v].length
  if (chars > max) return { ok: false, code, message: `${what} has ${chars} characters; at most ${max}` }
  const hidden = firstHidden(v)
  if (hidden) return { ok: false, code, message: `${what} contains an invisible character (${hidden})` }
  // A name of filler characters only (U+3164, a braille blank) shows as nothing: it is as good as blank.
  if (v !== '' && v.replace(/[\s\u115F\u1160\u3164\uFFA0\u2800]/gu, '') === '') {
    return { ok: false, code, message: `${what} has no visible character` }
  }
  return { ok: true, value: v }
}

/** One record of an item file, checked on its own (repeats across the file are ItemCollector's). */
export function checkItemRow(fields: readonly string[], columns: ItemColumns): Checked<Item> {
  if (fields.length !== columns.width) {
    return {
      ok: false,
      code: 'FIELD_COUNT',
      message: `expected ${columns.width} fields, found ${fields.length}`,
    }
  }
  const item = readItemNumber(fields[columns.item_number]!)
  if (!item.ok) return item
  const name = readText(fields[columns.name]!, 'name', MAX_NAME_CHARS)
  if (!name.ok) return name
  if (name.value === '') return { ok: false, code: 'INVALID_NAME', message: 'name is blank' }
  const unit =
    columns.unit === undefined ? undefined : readText(fields[columns.unit]!, 'unit', MAX_UNIT_CHARS)
  if (unit && !unit.ok) return unit
  return { ok: true, value: { item_number: item.value, name: name.value, unit: unit?.value || null } }
}

export type ItemFileResult =
  | { ok: true; rows: number; items: number; json: string }
  | {
      ok: false
      rows: number
      /** How many rows were refused; zero when only the file's size refused it. */
      refused: number
      code: 'INVALID_ITEMS' | 'TOO_MANY_ITEMS'
      message: string
      rejections: Rejection[]
      byCode: Record<string, number>
    }

/**
 * Takes an item file's records after its header, one at a time. Memory: each good item is kept once, as
 * its JSON, and each item number with its line (for repeats), until the first bad row; after that only the
 * numbers are kept. ITEM_LIMITS bound both.
 */
export class ItemCollector {
  private readonly columns: ItemColumns
  private readonly limits: { maxItems: number; maxJsonBytes: number }
  private readonly lineOf = new Map<number, number>()
  private parts: string[] = []
  private jsonBytes = 2
  private rows = 0
  private refused = 0
  private tooMany = false
  private readonly rejections: Rejection[] = []
  private readonly byCode: Record<string, number> = {}

  constructor(columns: ItemColumns, limits: { maxItems: number; maxJsonBytes: number } = ITEM_LIMITS) {
    this.columns = columns
    this.limits = limits
  }

  private refuse(line: number, code: ItemProblemCode, message: string) {
    this.refused++
    this.parts = []
    this.byCode[code] = (this.byCode[code] ?? 0) + 1
    if (this.rejections.length < MAX_LISTED_REJECTIONS) this.rejections.push({ line, code, message })
  }

  add(rec: CsvRecord): void {
    this.rows++
    if (!rec.ok) {
      this.refuse(rec.line, rec.code, rec.message)
      return
    }
    const number = readItemNumber(rec.fields[this.columns.item_number] ?? '')
    if (number.ok && rec.fields.length === this.columns.width) {
      const first = this.lineOf.get(number.value)
      if (first !== undefined) {
        const message = `item_number ${number.value} is on line ${first} and line ${rec.line}; name each item once per file`
        this.refuse(rec.line, 'DUPLICATE_IN_FILE', message)
        return
      }
      if (this.lineOf.size >= this.limits.maxItems) this.tooMany = true
      else this.lineOf.set(number.value, rec.line)
    }
    const row = checkItemRow(rec.fields, this.columns)
    if (!row.ok) {
      this.refuse(rec.line, row.code, row.message)
      return
    }
    if (this.refused > 0 || this.tooMany) return
    const json = JSON.stringify(row.value)
    this.jsonBytes += Buffer.byteLength(json) + 1
    if (this.jsonBytes > this.limits.maxJsonBytes) {
      this.tooMany = true
      this.parts = []
    } else this.parts.push(json)
  }

  finish(): ItemFileResult {
    const { rows, refused, rejections, byCode } = this
    if (refused > 0) {
      const first = rejections[0]!
      return {
        ok: false,
        rows,
        refused,
        code: 'INVALID_ITEMS',
        message: `${refused} of ${rows} rows are not valid items (the first, on line ${first.line}: ${first.message}); nothing was loaded. Fix every listed line and drop the whole file again`,
        rejections,
        byCode,
      }
    }
    if (this.tooMany) {
      const { maxItems, maxJsonBytes } = this.limits
      return {
        ok: false,
        rows,
        refused: 0,
        code: 'TOO_MANY_ITEMS',
        message: `an item file holds at most ${maxItems} items and ${Math.floor(maxJsonBytes / 1048576)} MiB of names; nothing was loaded. Split it into smaller files: each is loaded on its own`,
        rejections,
        byCode,
      }
    }
    const json = `[${this.parts.join(',')}]`
    this.parts = []
    return { ok: true, rows, items: rows, json }
  }
}

/**
 * The actor recorded with the items a file loaded: `file:` and its name, as check_actor takes it (at most
 * 200 printable characters, never `web:`).
 */
export function itemActor(fileName: string): string {
  // The audit refuses an actor holding a character no one can see (migration 019); a file name may hold one.
  return clip(`file:${fileName.replace(HIDDEN_ALL, '?')}`, 200)
}
