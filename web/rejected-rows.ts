// How a rejected-rows CSV reads in the browser. The file keeps what a person fixes and drops again (the
// original columns, then `error`), with formula cells guarded for spreadsheets; the page shows each row as
// its writer wrote it (the guard taken off: the browser runs no formulas), with its line, and the code
// and reason in their own columns, never in a data column.
import { restoreCell } from '../ledger/csv-guard.ts'

/** Raw text longer than this is cut on the page; the download has it whole. */
export const MAX_RAW_SHOWN = 2000

/**
 * The error column as a line, a code and a reason. The importer writes `line N CODE: message`; files from
 * before it wrote the line read `CODE: message`; text without a code is all reason.
 */
export function splitError(cell: string): { line: number | undefined; code: string; reason: string } {
  const m = /^(?:line (\d+) )?([A-Z][A-Z0-9_]*): ?([\s\S]*)$/.exec(cell)
  return m
    ? { line: m[1] === undefined ? undefined : Number(m[1]), code: m[2]!, reason: m[3]! }
    : { line: undefined, code: '', reason: cell }
}

/** Fields joined back into one CSV line, quoted where a field needs it, as a file would hold them. */
export function joinCsvLine(fields: string[]): string {
  return fields.map((f) => (/[",\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(',')
}

export interface RejectedRowView {
  /** The row's line in the imported file: from the error column, else from the receipt's list. */
  line: number | undefined
  /** One value per data column; undefined when the row does not fit the columns (see `raw`). */
  cells: string[] | undefined
  /** The row as one line of text, for a row that could not be split into the file's columns. */
  raw: string | undefined
  /** Characters of `raw` not shown. */
  rawCut: number
  code: string
  reason: string
}

/** The data columns of a rejected-rows CSV: its header without the trailing `error`. */
export function dataColumns(header: string[]): string[] {
  return header.slice(0, -1).map(restoreCell)
}

/**
 * One record of a rejected-rows CSV as the page shows it. A row the importer could not split (bad quotes,
 * a bad encoding, too long) was written as its raw text in one cell; a row with too few or too many fields
 * (`FIELD_COUNT`) as its fields: neither lines up with the columns, so both show as one line of text.
 */
export function rejectedRowView(
  header: string[],
  record: string[],
  line: number | undefined,
  maxRaw = MAX_RAW_SHOWN,
): RejectedRowView {
  const { line: written, code, reason } = splitError(record.at(-1) ?? '')
  line = written ?? line
  const fields = record.slice(0, -1).map(restoreCell)
  if (fields.length === header.length - 1) {
    return { line, cells: fields, raw: undefined, rawCut: 0, code, reason }
  }
  const whole = fields.length === 1 ? fields[0]! : joinCsvLine(fields)
  const raw = whole.length > maxRaw ? whole.slice(0, maxRaw) : whole
  return { line, cells: undefined, raw, rawCut: whole.length - raw.length, code, reason }
}
