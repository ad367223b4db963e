// Imports one CSV file: every row becomes exactly one event on `events` or one rejection on `errors`.
import type { IHeaders } from 'kafkajs'
import { restoreCell } from '../ledger/csv-guard.ts'
import type { Receipt, Rejection } from '../ledger/input-folder.ts'
import type { Logger } from '../lib/log.ts'
import type { Encoder } from '../lib/registry.ts'
import { movementKey, type StockError, type StockMovement } from '../schemas/contract.ts'
import {
  FILE_CLAIM_HEADER,
  FILE_SHA256_HEADER,
  SOURCE_FILE_HEADER,
  SOURCE_LINE_HEADER,
} from '../schemas/headers.ts'
import { errorId, stockError } from '../schemas/payloads.ts'
import type { FileSource } from './admitted-file.ts'
import { type ColumnMap, mapHeader, parseRow, type RejectCode } from './parse-row.ts'
import type { Publisher } from './publisher.ts'
import { readRecords } from './read-records.ts'
import { MAX_LISTED_REJECTIONS, RejectedCsv } from './receipt.ts'
import { SeenIds } from './seen-ids.ts'

export interface ImportDeps {
  publisher: Publisher
  movements: Encoder<StockMovement>
  errors: Encoder<StockError>
  topics: { events: string; errors: string }
  log: Logger
  clock: () => number
  /** Rows longer than this are rejected; keep it below the broker's message.max.bytes. */
  maxRecordBytes?: number
  progressEveryMs?: number
}

export interface ImportInput {
  /** The file's bytes: an admitted descriptor (importer) or a path (`stockflow import`). */
  source: FileSource
  /** The name recorded in headers, errors and the receipt (relative to the input folder). */
  name: string
  sha256: string
  rejectedPath: string
  /** A repaired `.rejected.csv`: cells the importer neutralised for spreadsheets are restored. */
  restoreNeutralised?: boolean
  /** The key this import's outcome will be recorded under, sent with each rejected row (FILE_CLAIM_HEADER). */
  claimKey?: string
}

export type FileFailureCode = 'EMPTY_FILE' | 'MISSING_COLUMNS' | 'AMBIGUOUS_COLUMNS' | 'UNSUPPORTED_ENCODING'

/** Raw rows on `errors` are clipped, so one huge bad row cannot exceed the broker's message size. */
const MAX_RAW_ON_TOPIC = 4096

async function sniffEncoding(source: FileSource): Promise<FileFailureCode | undefined> {
  const stream = source.stream({ start: 0, end: 3 })
  const head: Buffer[] = []
  for await (const c of stream) head.push(c as Buffer)
  const b = Buffer.concat(head)
  if (b.length === 0) return 'EMPTY_FILE'
  if ((b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff)) return 'UNSUPPORTED_ENCODING'
  return undefined
}

export async function importFile(deps: ImportDeps, input: ImportInput): Promise<Receipt> {
  const started = deps.clock()
  const { size } = input.source
  const rejections: Rejection[] = []
  const byCode: Record<string, number> = {}
  let rowsRead = 0
  let accepted = 0
  let rejectedCsv: RejectedCsv | undefined
  let lastProgress = started
  // The file's headers are the same bytes on every message; only the line differs.
  const fileHeader = Buffer.from(input.name)
  const shaHeader = Buffer.from(input.sha256)
  const headersFor = (line: number): IHeaders => ({
    [SOURCE_FILE_HEADER]: fileHeader,
    [SOURCE_LINE_HEADER]: String(line),
    [FILE_SHA256_HEADER]: shaHeader,
  })
  const claimHeader = input.claimKey === undefined ? undefined : Buffer.from(input.claimKey)
  const errorHeadersFor = (line: number): IHeaders =>
    claimHeader ? { ...headersFor(line), [FILE_CLAIM_HEADER]: claimHeader } : headersFor(line)

  const finish = async (status: Receipt['status'], error: Receipt['error']): Promise<Receipt> => {
    const finished = deps.clock()
    const duration = Math.max(1, finished - started)
    return {
      file: input.name,
      status,
      sha256: input.sha256,
      bytes: size,
      rows_read: rowsRead,
      rows_accepted: accepted,
      rows_rejected: rowsRead - accepted,
      started_at: new Date(started).toISOString(),
      finished_at: new Date(finished).toISOString(),
      duration_ms: finished - started,
      rows_per_second: Math.round((rowsRead * 1000) / duration),
      rejections,
      rejected_by_code: byCode,
      rejected_csv: (await rejectedCsv?.close()) ?? null,
      duplicate_of: null,
      error,
    }
  }

  const encodingProblem = await sniffEncoding(input.source)
  if (encodingProblem) {
    const message =
      encodingProblem === 'EMPTY_FILE'
        ? 'the file is empty; a CSV needs at least the header line'
        : 'the file is UTF-16; save it as UTF-8 (with or without BOM) and drop it again'
    return finish('failed', { code: encodingProblem, message })
  }

  const reject = async (line: number, code: RejectCode, message: string, raw: string, fields?: string[]) => {
    if (rejections.length < MAX_LISTED_REJECTIONS) rejections.push({ line, code, message })
    byCode[code] = (byCode[code] ?? 0) + 1
    // The line rides in the error cell, so every rejected row says where it came from, not only the
    // receipt's first hundred.
    await rejectedCsv!.add(fields, raw, `line ${line} ${code}: ${message}`)
    const value = stockError(
      {
        error_id: errorId(input.sha256, line, code),
        stage: 'import',
        code,
        message,
        source_file: input.name,
        source_line: line,
        raw_row: raw.slice(0, MAX_RAW_ON_TOPIC),
      },
      deps.clock(),
    )
    const full = deps.publisher.add(deps.topics.errors, {
      key: input.name,
      value: deps.errors.encode(value),
      headers: errorHeadersFor(line),
    })
    if (full) await full
  }

  // A valid row is at least 66 bytes (id, type, a zoned date, three numbers), which bounds the ids to come.
  const seen = new SeenIds(Math.ceil(size / 66))
  let map: ColumnMap | undefined
  const source = input.source.stream({ highWaterMark: 256 * 1024 })
  try {
    for await (const records of readRecords(source, { maxRecordBytes: deps.maxRecordBytes ?? 256 * 1024 })) {
      for (const read of records) {
        const rec =
          read.ok && input.restoreNeutralised ? { ...read, fields: read.fields.map(restoreCell) } : read
        if (map === undefined) {
          const header = rec.ok
            ? mapHeader(rec.fields)
            : { ok: false as const, missing: ['(unreadable header)'], ambiguous: [] }
          if (!header.ok && header.missing.length > 0) {
            const message = `missing required column(s): ${header.missing.join(', ')}; the header must name transaction_id,event_type,date,store_number,item_number,value`
            return await finish('failed', { code: 'MISSING_COLUMNS', message })
          }
          if (!header.ok) {
            const which = header.ambiguous.map((a) => `${a.column} (${a.names.join(', ')})`).join('; ')
            const message = `the header names a column more than once: ${which}; keep one of each and drop the file again`
            return await finish('failed', { code: 'AMBIGUOUS_COLUMNS', message })
          }
          map = header.map
          rejectedCsv = new RejectedCsv(input.rejectedPath, rec.ok ? rec.fields : [])
          continue
        }
        rowsRead++
        if (!rec.ok) {
          await reject(rec.line, rec.code, rec.message, rec.raw)
          continue
        }
        const row = parseRow(rec.fields, map)
        if (!row.ok) {
          await reject(rec.line, row.code, row.message, rec.raw, rec.fields)
          continue
        }
        const m = row.movement
        if (!seen.add(m.transaction_id)) {
          await reject(
            rec.line,
            'DUPLICATE_IN_FILE',
            `transaction_id ${m.transaction_id} appears earlier in this file`,
            rec.raw,
            rec.fields,
          )
          continue
        }
        accepted++
        const full = deps.publisher.add(deps.topics.events, {
          key: movementKey(m.store_number, m.item_number),
          value: deps.movements.encode(m),
          headers: headersFor(rec.line),
        })
        if (full) await full
        const now = deps.clock()
        if (now - lastProgress >= (deps.progressEveryMs ?? 5000)) {
          lastProgress = now
          const rate = Math.round((rowsRead * 1000) / Math.max(1, now - started))
          deps.log.info({ file: input.name, rows: rowsRead, rowsPerSecond: rate }, 'importing')
        }
      }
    }
    if (map === undefined) {
      return await finish('failed', { code: 'EMPTY_FILE', message: 'the file has no header line' })
    }
    // The file counts as imported only once the broker has acknowledged every message, errors included.
    await deps.publisher.flush()
  } catch (err) {
    // The caller removes the half-written rejected rows; their descriptor must not outlive the attempt.
    rejectedCsv?.discard()
    throw err
  } finally {
    source.destroy()
    seen.close()
  }
  return finish('processed', null)
}
