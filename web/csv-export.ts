// CSV downloads of the console's tables. Every row is written as it is read from a Postgres cursor, so an
// export of any size costs the console one batch of memory. Text cells are guarded against spreadsheet
// formulas by the rule the importer's rejected-rows file uses (a leading quote before = + - @ tab or CR).
import { Readable } from 'node:stream'
import { create as attachment } from 'content-disposition'
import type { FastifyReply } from 'fastify'
import { csvTextCell } from '../ledger/csv-guard.ts'
import { AppError } from '../lib/errors.ts'

export type CsvValue = string | number | bigint | Date | null | undefined

/**
 * One cell. Numbers are written as numbers (a negative delta stays -5, which a spreadsheet reads as a
 * number, never as a formula); dates as ISO 8601 in UTC; empty for null; text guarded, then quoted when it
 * holds a separator, a quote or a line break (ledger/csv-guard.ts).
 */
export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'number' || typeof value === 'bigint') return String(value)
  if (value instanceof Date) return value.toISOString()
  return csvTextCell(value)
}

/** A CSV line, ended with CRLF as RFC 4180 has it. */
export function csvLine(cells: readonly CsvValue[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`
}

/**
 * The CSV text, as a stream: the header, then each batch of rows. The first batch is read before this
 * resolves, so a query that fails at once is an error page rather than a download cut short; after that the
 * next batch is asked for only when the client has taken the previous one, so a slow download slows the
 * cursor instead of filling memory.
 */
export async function openCsv<T>(
  header: readonly string[],
  batches: AsyncIterable<readonly T[]>,
  cells: (row: T) => readonly CsvValue[],
): Promise<Readable> {
  const it = batches[Symbol.asyncIterator]()
  const first = await it.next()
  const text = (batch: readonly T[]) => {
    let out = ''
    for (const row of batch) out += csvLine(cells(row))
    return out
  }
  async function* lines() {
    try {
      yield csvLine(header) + (first.done ? '' : text(first.value))
      if (first.done) return
      for (let next = await it.next(); !next.done; next = await it.next()) yield text(next.value)
    } finally {
      // A download the client gave up on closes the cursor, and its connection goes back to the pool.
      await it.return?.()
    }
  }
  return Readable.from(lines())
}

/** The download's file name: letters, digits, dots and dashes only, so no header needs quoting. */
/** A page's query for its CSV export, which writes every row: the page number is no concern of it. */
export function exportQuery<Q extends Record<string, unknown>>(query: Q): Omit<Q, 'page'> {
  const { page: _page, ...rest } = query
  return rest
}

/**
 * A query's filters as a file name's words, each named (`from-2024-05-02-to-2024-05-03-store-80-81`), so
 * two exports of different filters never share a name, whichever filters are left out.
 */
export function filterWords(params: Record<string, string>): string {
  return new URLSearchParams(params).toString()
}

export function exportName(parts: readonly (string | number | undefined)[]): string {
  const name = parts
    .filter((p) => p !== undefined && p !== '')
    .map((p) => String(p).replace(/[^A-Za-z0-9.-]+/g, '-'))
    .join('-')
  return `${name}.csv`
}

/** Sends a CSV download, opened with openCsv: its first rows are already read. */
export function sendCsv(reply: FastifyReply, name: string, body: Readable): FastifyReply {
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', attachment(name))
    .header('cache-control', 'no-store')
    .send(body)
}

/** An export's filters must all be usable: a download that quietly ignored one would be the wrong file. */
export function refuseProblems(problems: readonly string[]): void {
  if (problems.length > 0) throw new AppError('WEB_INPUT', problems.join('; '))
}
