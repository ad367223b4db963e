// An item-master file through the importer (#23): recognised by its header, every row checked, then loaded
// in one call to load_item_master, all or nothing. The checks are item-rows.ts; this is the I/O around them.
import type { Receipt } from '../ledger/input-folder.ts'
import type { Sql } from '../lib/db.ts'
import { classifyDbError, isRefusedInput } from '../lib/errors.ts'
import type { FileSource } from './admitted-file.ts'
import {
  ItemCollector,
  type ItemColumns,
  type ItemFileResult,
  type ItemHeader,
  itemHeader,
} from './item-rows.ts'
import { readRecords } from './read-records.ts'

const MAX_RECORD_BYTES = 256 * 1024

/**
 * The item header of a file, read from its first record; undefined for a movement file, and for an
 * empty or unreadable one (the movement importer reports those as it always has).
 */
export async function itemHeaderOf(source: FileSource): Promise<ItemHeader | undefined> {
  const stream = source.stream({ highWaterMark: 64 * 1024 })
  try {
    for await (const records of readRecords(stream, { maxRecordBytes: MAX_RECORD_BYTES })) {
      const first = records[0]
      return first?.ok ? itemHeader(first.fields) : undefined
    }
    return undefined
  } finally {
    stream.destroy()
  }
}

/** Every record after the header, through the collector: streamed, so only the items themselves are held. */
export async function readItemFile(source: FileSource, columns: ItemColumns): Promise<ItemFileResult> {
  const collector = new ItemCollector(columns)
  const stream = source.stream({ highWaterMark: 256 * 1024 })
  let header = true
  try {
    for await (const records of readRecords(stream, { maxRecordBytes: MAX_RECORD_BYTES })) {
      for (const rec of records) {
        if (header) header = false
        else collector.add(rec)
      }
    }
  } finally {
    stream.destroy()
  }
  return collector.finish()
}

export type ItemLoad = { ok: true; loaded: number } | { ok: false; message: string }

/**
 * One call, one transaction: every item or none. A refusal of the data itself fails the file; anything
 * else (Postgres away) is thrown, and the file stays in processing/ to be tried again.
 */
export async function loadItems(sql: Sql, json: string, actor: string): Promise<ItemLoad> {
  try {
    // Sent as text and cast in Postgres: a string bound straight to a jsonb parameter would be encoded
    // again, as one JSON string.
    const [row] = await sql`select load_item_master(${json}::text::jsonb, ${actor}) as loaded`
    return { ok: true, loaded: Number(row!.loaded) }
  } catch (err) {
    const e = classifyDbError(err, { op: 'load-item-master' })
    if (isRefusedInput(e)) return { ok: false, message: e.message }
    throw e
  }
}

export interface ItemReceiptInput {
  file: string
  sha256: string
  bytes: number
  started: number
  finished: number
}

/** The receipt of an item file: how many items were loaded, or why none were. */
export function itemReceipt(
  input: ItemReceiptInput,
  outcome:
    | { read: ItemFileResult; load?: ItemLoad }
    | { read?: undefined; error: { code: string; message: string } },
): Receipt {
  const duration = Math.max(1, input.finished - input.started)
  const read = outcome.read
  const loaded = read?.ok && outcome.load?.ok ? outcome.load.loaded : 0
  let error: Receipt['error'] = null
  if (!read) error = outcome.error
  else if (!read.ok) error = { code: read.code, message: read.message }
  else if (outcome.load && !outcome.load.ok)
    error = {
      code: 'ITEMS_REFUSED',
      message: `Postgres refused the items; nothing was loaded: ${outcome.load.message}`,
    }
  const rows = read?.rows ?? 0
  return {
    file: input.file,
    status: error ? 'failed' : 'processed',
    sha256: input.sha256,
    bytes: input.bytes,
    rows_read: rows,
    rows_accepted: loaded,
    rows_rejected: read && !read.ok ? read.refused : 0,
    started_at: new Date(input.started).toISOString(),
    finished_at: new Date(input.finished).toISOString(),
    duration_ms: input.finished - input.started,
    rows_per_second: Math.round((rows * 1000) / duration),
    rejections: read && !read.ok ? read.rejections : [],
    rejected_by_code: read && !read.ok ? read.byCode : {},
    rejected_csv: null,
    duplicate_of: null,
    error,
    kind: 'items',
    items_loaded: loaded,
  }
}
