// What a file's import leaves behind for people: the receipt and the rejected-rows CSV.

import { once } from 'node:events'
import type { WriteStream } from 'node:fs'
import { open, writeFile } from 'node:fs/promises'
import { csvTextCell } from '../ledger/csv-guard.ts'
import type { Receipt } from '../ledger/input-folder.ts'

export const MAX_LISTED_REJECTIONS = 100

export function writeReceipt(path: string, receipt: Receipt): Promise<void> {
  return writeFile(path, `${JSON.stringify(receipt, null, 2)}\n`)
}

/** Streams rejected rows to `<name>.rejected.csv`: the original columns plus `error`. Opened on first use. */
export class RejectedCsv {
  private out: WriteStream | undefined
  /** A write error, kept to be thrown to the importer: a stream error without a listener ends the process. */
  private failure: Error | undefined
  private readonly path: string
  private readonly header: string[]
  count = 0

  constructor(path: string, header: string[]) {
    this.path = path
    this.header = header
  }

  async add(fields: string[] | undefined, raw: string, error: string): Promise<void> {
    if (!this.out) {
      // Opened through a promise, so that a name the file system refuses is an error here, not a crash.
      const out = (await open(this.path, 'w')).createWriteStream()
      out.on('error', (err) => {
        this.failure ??= err
      })
      this.out = out
      out.write(`${[...this.header, 'error'].map(csvTextCell).join(',')}\n`)
    }
    if (this.failure) throw this.failure
    // A row that could not be split keeps its raw text in the first column, so nothing is dropped.
    const cells = fields ?? [raw]
    this.count++
    // `once` rejects when the stream errors instead, so a failed write does not wait for ever.
    if (!this.out.write(`${[...cells, error].map(csvTextCell).join(',')}\n`)) await once(this.out, 'drain')
  }

  /** Closes the file without waiting, when the import failed: the caller removes it. */
  discard(): void {
    this.out?.destroy()
  }

  /** Returns the file's path, or null when no row was rejected. */
  async close(): Promise<string | null> {
    if (!this.out) return null
    const out = this.out
    await new Promise<void>((resolve, reject) =>
      out.end((err?: Error | null) => (err ? reject(err) : resolve())),
    )
    if (this.failure) throw this.failure
    return this.path
  }
}

/** The receipt of a file that was not read through: refused, a duplicate, or failed as a whole. */
export function rejectedReceipt(
  file: string,
  code: string | null,
  message: string | null,
  now: number,
): Receipt {
  const at = new Date(now).toISOString()
  return {
    file,
    status: 'failed',
    sha256: '',
    bytes: 0,
    rows_read: 0,
    rows_accepted: 0,
    rows_rejected: 0,
    started_at: at,
    finished_at: at,
    duration_ms: 0,
    rows_per_second: 0,
    rejections: [],
    rejected_by_code: {},
    rejected_csv: null,
    duplicate_of: null,
    error: code && message ? { code, message } : null,
  }
}

/**
 * The receipt of a file whose rows the broker refused for good (`reason`, from refusedByBroker): the
 * watcher and `stockflow import` report it alike. Rows before the refusal may be on the topics already.
 */
export function refusedReceipt(
  file: string,
  reason: string,
  content: { sha256: string; bytes: number },
  now: number,
): Receipt {
  const receipt = rejectedReceipt(
    file,
    'PUBLISH_REFUSED',
    `the broker refused to take this file's rows (${reason}); rows before that point may have been published. Drop the file again once the broker's limits or the rows are fixed: rows already applied are skipped`,
    now,
  )
  receipt.sha256 = content.sha256
  receipt.bytes = content.bytes
  return receipt
}
