// CSV downloads of the console's tables. Every row is written as it is read from a Postgres cursor, so an
// export of any size costs the console one batch of memory. Text cells are guarded against spreadsheet
// formulas by the rule the importer's rejected-rows file uses (a leading quote before = + - @ tab or CR).
import { Readable } from 'node:stream'

export type CsvValue = string | number | bigint | Date | null | undefined

/** A text cell a spreadsheet would run as a formula becomes text; the characters stay readable. */
export function neutraliseText(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
}

/**
 * One cell. Numbers are written as numbers (a negative delta stays -5, which a spreadsheet reads as a
 * number, never as a formula); dates as ISO 8601 in UTC; empty for null; text guarded, then quoted when it
 * holds a comma, a quote or a line break.
 */
export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'number' || typeof value === 'bigint') return String(value)
  if (value instanceof Date) return value.toISOString()
  const safe = neutraliseText(value)
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe
}

/** A CSV line, ended with CRLF as RFC 4180 has it. */
export function csvLine(cells: readonly CsvValue[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`
}

/**
 * The CSV text, as a stream: the header, then each batch of rows. The next batch is asked for only when the
 * client has taken the previous one, so a slow download slows the cursor instead of filling memory.
 */
export function csvStream<T>(
  header: readonly string[],
  batches: AsyncIterable<readonly T[]>,
  cells: (row: T) => readonly CsvValue[],
): Readable {
  async function* lines() {
    yield csvLine(header)
    for await (const batch of batches) {
      let text = ''
      for (const row of batch) text += csvLine(cells(row))
      yield text
    }
  }
  return Readable.from(lines())
}

/** The download's file name: letters, digits, dots and dashes only, so no header needs quoting. */
export function exportName(parts: readonly (string | number | undefined)[]): string {
  const name = parts
    .filter((p) => p !== undefined && p !== '')
    .map((p) => String(p).replace(/[^A-Za-z0-9.-]+/g, '-'))
    .join('-')
  return `${name}.csv`
}
