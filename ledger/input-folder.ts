// The input folder as the importer leaves it and the console reads it: how a file and its outputs are
// named (`x.csv`, `x-1.csv`, `x.csv.receipt.json`, `x.csv.rejected.csv`) and what a receipt holds.
import { createHash } from 'node:crypto'
import { basename, dirname, extname, join, sep } from 'node:path'

/** Linux file systems take a name of at most 255 bytes; a path may be longer. */
const NAME_MAX_BYTES = 255

/** The longest start of `text` that fits in `max` UTF-8 bytes, never cutting a character in half. */
function cutToBytes(text: string, max: number): string {
  let bytes = 0
  let end = 0
  for (const ch of text) {
    const n = Buffer.byteLength(ch)
    if (bytes + n > max) break
    bytes += n
    end += ch.length
  }
  return text.slice(0, end)
}

/** `name` with `suffix`, its stem shortened and tagged by a hash of the whole name when it would not fit. */
function fitName(stem: string, suffix: string, whole: string): string {
  if (Buffer.byteLength(stem) + Buffer.byteLength(suffix) <= NAME_MAX_BYTES) return `${stem}${suffix}`
  const tag = `~${createHash('sha256').update(whole).digest('hex').slice(0, 8)}`
  return `${cutToBytes(stem, NAME_MAX_BYTES - Buffer.byteLength(suffix) - tag.length)}${tag}${suffix}`
}

/** `name` itself when it fits in 255 bytes, else its stem shortened and tagged by a hash, its extension kept. */
export function fittedName(name: string): string {
  const ext = extname(name)
  return fitName(name.slice(0, name.length - ext.length), ext, name)
}

/** The n-th name for a file whose name is taken: name.csv, then name-1.csv, name-2.csv, … */
export function numberedName(path: string, n: number): string {
  if (n === 0) return path
  const name = basename(path)
  const ext = extname(name)
  return join(dirname(path), fitName(name.slice(0, name.length - ext.length), `-${n}${ext}`, name))
}

export type OutputSuffix = '.receipt.json' | '.rejected.csv'

/**
 * Whether a file is a rejected-rows file coming back fixed, so its cells lose the spreadsheet guard they
 * were written with. It may come back renamed: numbered by an upload or the archive (`x.rejected-1.csv`),
 * or by a browser's download (`x.rejected (1).csv`).
 */
export function isRejectedRowsName(path: string): boolean {
  return /\.rejected(?:-\d+| ?\(\d+\))?\.csv$/i.test(basename(path))
}

/**
 * Where an output of the file at `path` is written: beside it, named after it. A name near the 255-byte
 * limit leaves no room for the suffix, so such a file's outputs get a shortened name tagged with a hash
 * of the whole name; the receipt still names the file in full.
 */
export function outputPath(path: string, suffix: OutputSuffix): string {
  const name = basename(path)
  return join(dirname(path), fitName(name, suffix, name))
}

export interface Rejection {
  line: number
  code: string
  message: string
}

export type ReceiptStatus = 'processed' | 'failed' | 'duplicate'

export interface Receipt {
  file: string
  status: ReceiptStatus
  sha256: string
  bytes: number
  rows_read: number
  rows_accepted: number
  rows_rejected: number
  started_at: string
  finished_at: string
  duration_ms: number
  rows_per_second: number
  /** The first MAX_LISTED_REJECTIONS rejections; all of them are in the rejected CSV and on `errors`. */
  rejections: Rejection[]
  /** Every rejected row counted by code (the list above stops at MAX_LISTED_REJECTIONS). */
  rejected_by_code: Record<string, number>
  rejected_csv: string | null
  duplicate_of: string | null
  /** Why the whole file failed, when it did. */
  error: { code: string; message: string } | null
  /** Set for an item-master file (item_number,name[,unit]); a movement file's receipt has neither field. */
  kind?: 'items'
  /** Items written to the item master: all of the file's rows, or none when it failed. */
  items_loaded?: number
}

export const STATE_DIRS = ['processing', 'processed', 'failed'] as const
export type StateDir = (typeof STATE_DIRS)[number]

const IGNORED_SUFFIXES = ['.tmp', '.part', '.crdownload']

/** Dotfiles, partial downloads and the importer's own folders and outputs are never imported. */
export function isIgnoredName(relPath: string): boolean {
  const parts = relPath.split(sep)
  if (STATE_DIRS.includes(parts[0] as StateDir)) return true
  const name = parts[parts.length - 1] ?? ''
  if (parts.some((p) => p.startsWith('.'))) return true
  // A `.rejected.csv` dropped into the folder is a repaired file: it is imported like any other.
  if (name.endsWith('.receipt.json')) return true
  return IGNORED_SUFFIXES.some((s) => name.toLowerCase().endsWith(s))
}

/** The rejected rows beside a file in processing/ are the importer's own output, not a file to import. */
export function outputsOf(names: Iterable<string>): Set<string> {
  return new Set(Array.from(names, (n) => basename(outputPath(n, '.rejected.csv'))))
}
