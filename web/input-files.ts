// The console's view of the input folder: a finished file's receipt and rejected rows (which the importer
// leaves beside it in processed/ or failed/), and uploads, placed where the importer picks up a dropped file.
// Every path is built from the folder and a name the importer recorded, checked to stay inside the folder,
// and opened without following links, so neither a crafted name nor a planted symlink reads anything else.
import { constants, type ReadStream } from 'node:fs'
import { link, mkdir, open, unlink } from 'node:fs/promises'
import { basename, dirname, join, resolve, sep } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parse } from 'csv-parse'
import type { Receipt } from '../ledger/input-folder.ts'
import { numberedName, outputPath } from '../ledger/input-folder.ts'
import { AppError } from '../lib/errors.ts'

/** Receipts list at most 100 rejections; anything larger than this is not one of ours. */
const MAX_RECEIPT_BYTES = 4 * 1024 * 1024
/** Numbered names (x-1.csv, x-2.csv, …) looked at before giving up on finding a receipt. */
const MAX_CANDIDATES = 10_000
const MAX_MISSING_IN_A_ROW = 20

/** `rel` under `root`, or undefined when it would leave it (absolute, `..`, empty). */
export function inside(root: string, rel: string): string | undefined {
  if (rel === '' || rel.includes('\0')) return undefined
  const base = resolve(root)
  const full = resolve(base, rel)
  return full.startsWith(`${base}${sep}`) ? full : undefined
}

/** Opens a regular file for reading, refusing symlinks and anything that is not a plain file. */
async function openPlain(path: string) {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW)
  const st = await fh.stat()
  if (!st.isFile()) {
    await fh.close()
    throw new AppError('NOT_FOUND', `${basename(path)} is not a file`)
  }
  return { fh, size: st.size }
}

async function readReceipt(path: string): Promise<Receipt | undefined> {
  let opened: Awaited<ReturnType<typeof openPlain>>
  try {
    opened = await openPlain(path)
  } catch {
    return undefined
  }
  try {
    if (opened.size > MAX_RECEIPT_BYTES) return undefined
    return JSON.parse(await opened.fh.readFile('utf8')) as Receipt
  } catch {
    return undefined
  } finally {
    await opened.fh.close()
  }
}

export interface FoundReceipt {
  receipt: Receipt
  /** The imported file's final path; the receipt and the rejected rows sit beside it. */
  path: string
  rejectedPath: string | undefined
}

/**
 * The receipt of one recorded import: the importer gives a file the first free numberedName in processed/
 * (or failed/), so the receipt is the one with the same name, content and start time.
 */
export async function findReceipt(
  inputDir: string,
  outcome: { file_name: string; sha256: string | null; status: string; started_at: Date },
): Promise<FoundReceipt | undefined> {
  const state = outcome.status === 'failed' ? 'failed' : 'processed'
  const target = inside(join(inputDir, state), outcome.file_name)
  if (!target) return undefined
  const started = outcome.started_at.toISOString()
  // Names are taken in order, but one may since have been cleaned up: a run of missing ones ends the search.
  let missing = 0
  for (let n = 0; n < MAX_CANDIDATES && missing < MAX_MISSING_IN_A_ROW; n++) {
    const candidate = numberedName(target, n)
    const receipt = await readReceipt(outputPath(candidate, '.receipt.json'))
    if (!receipt) {
      missing++
      continue
    }
    missing = 0
    if (receipt.file !== outcome.file_name || receipt.started_at !== started) continue
    if (outcome.sha256 && receipt.sha256 !== outcome.sha256) continue
    const rejectedPath = receipt.rejected_csv
      ? join(dirname(candidate), basename(receipt.rejected_csv))
      : undefined
    return { receipt, path: candidate, rejectedPath }
  }
  return undefined
}

export interface RejectedPage {
  header: string[]
  rows: string[][]
  /** True when rows exist after this page. */
  more: boolean
}

/** Rows `offset`… of a rejected-rows CSV (its last column is the error: code and message). */
export async function readRejectedRows(path: string, offset: number, limit: number): Promise<RejectedPage> {
  const { fh } = await openPlain(path)
  const parser = fh
    .createReadStream({ encoding: 'utf8' })
    .pipe(parse({ relax_column_count: true, bom: true }))
  let header: string[] = []
  const rows: string[][] = []
  let index = -1
  let more = false
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (index === -1) header = record
      else if (index >= offset + limit) {
        more = true
        break
      } else if (index >= offset) rows.push(record)
      index++
    }
  } finally {
    parser.destroy()
    await fh.close()
  }
  return { header, rows, more }
}

export async function openDownload(path: string): Promise<{ stream: ReadStream; size: number }> {
  const { fh, size } = await openPlain(path)
  return { stream: fh.createReadStream(), size }
}

/** A name for an uploaded file: its base name, with only letters, digits, dot, dash and underscore, as .csv. */
export function uploadName(original: string): string {
  const base = basename(original.replace(/\\/g, '/'))
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._-]+/, '')
  const stem = base.toLowerCase().endsWith('.csv') ? base.slice(0, -4) : base
  return `${stem.slice(0, 100) || 'upload'}.csv`
}

/**
 * Writes an upload into `inputDir/uploads/` the way a careful writer drops a file: whole, under a dotfile
 * name the importer ignores, then given its name with link(2), which unlike rename never replaces a file
 * already there (a taken name gets a number). Returns the name relative to the input folder.
 */
export async function placeUpload(
  inputDir: string,
  originalName: string,
  source: Readable,
  maxBytes: number,
): Promise<string> {
  const dir = join(inputDir, 'uploads')
  await mkdir(dir, { recursive: true })
  const name = uploadName(originalName)
  const temp = join(dir, `.${name}.${process.pid}.${Date.now()}.part`)
  const out = await open(temp, 'wx', 0o644)
  let written = 0
  try {
    await pipeline(
      source,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          written += chunk.length
          if (written > maxBytes) {
            throw new AppError(
              'WEB_INPUT',
              `the file is larger than the importer accepts (${maxBytes} bytes)`,
            )
          }
          yield chunk
        }
      },
      out.createWriteStream(),
    )
    if (written === 0) throw new AppError('WEB_INPUT', 'the uploaded file is empty')
    for (let n = 0; ; n++) {
      const rel = join('uploads', numberedName(name, n))
      try {
        await link(temp, join(inputDir, rel))
        return rel
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      }
    }
  } finally {
    await out.close().catch(() => {})
    await unlink(temp).catch(() => {})
  }
}
