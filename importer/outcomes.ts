// Every file's outcome where operators look: one row in import_outcomes (rows by code, or the file-level
// failure), and for a file refused as a whole one StockError on `errors`, so the alerter tells someone.
// Written before the file moves, so a failure here leaves the file where it is, to be tried again.
import type { Producer } from 'kafkajs'
import type { Receipt } from '../ledger/input-folder.ts'
import type { Sql } from '../lib/db.ts'
import { classifyDbError } from '../lib/errors.ts'
import type { Encoder } from '../lib/registry.ts'
import type { StockError } from '../schemas/contract.ts'
import { SOURCE_FILE_HEADER } from '../schemas/headers.ts'
import { errorId, stockError } from '../schemas/payloads.ts'

/** What putting a file's failure on `errors` needs: the watcher and `stockflow import` both have it. */
export interface FailureDeps {
  producer: Producer
  errors: Encoder<StockError>
  topics: { errors: string }
  clock: () => number
}

export interface OutcomeDeps extends FailureDeps {
  sql: Sql
}

/**
 * Which file an outcome is about: its content and identity on disk (see AdmittedFile.identity). A run
 * resumed after a crash imports the same file again and records its outcome under the same key, so a
 * file has one outcome however often it was tried.
 */
export interface OutcomeOf {
  key: string
  /** Where its rejected rows end up, relative to the input folder; null when none were rejected. */
  rejectedCsv: string | null
}

/** The key a claimed file's outcome is recorded under: its content and its identity on disk. */
export async function claimKeyOf(file: { identity(): Promise<string> }, sha256: string): Promise<string> {
  return `${sha256}:${await file.identity()}`
}

/** The StockError for a file refused as a whole; undefined when the file itself was fine. */
export function fileFailure(
  receipt: Receipt,
  of: Pick<OutcomeOf, 'key'>,
  now: number,
): StockError | undefined {
  if (receipt.status !== 'failed' || !receipt.error) return undefined
  const { code, message } = receipt.error
  return stockError(
    {
      // The same file fails with one id, however often it is tried.
      error_id: errorId('import-file', code, receipt.file, of.key),
      stage: 'import',
      code,
      message: `file ${receipt.file} was not imported: ${message}`,
      source_file: receipt.file,
    },
    now,
  )
}

/**
 * Puts a file refused as a whole on `errors`, keyed and headed by its name, so the alerter tells someone;
 * nothing for a file that was fine. Returns the error sent, if any.
 */
export async function publishFileFailure(
  deps: FailureDeps,
  receipt: Receipt,
  of: Pick<OutcomeOf, 'key'>,
): Promise<StockError | undefined> {
  const failure = fileFailure(receipt, of, deps.clock())
  if (!failure) return undefined
  await deps.producer.send({
    topic: deps.topics.errors,
    acks: -1,
    messages: [
      {
        key: receipt.file,
        value: deps.errors.encode(failure),
        headers: { [SOURCE_FILE_HEADER]: receipt.file },
      },
    ],
  })
  return failure
}

export async function reportOutcome(deps: OutcomeDeps, receipt: Receipt, of: OutcomeOf): Promise<void> {
  await publishFileFailure(deps, receipt, of)
  try {
    await deps.sql`
      insert into import_outcomes (file_name, sha256, status, code, message, rows_read, rows_accepted, rows_rejected,
                                   rejected_by_code, started_at, finished_at, claim_key, rejected_csv, kind)
      values (${receipt.file}, ${receipt.sha256 || null}, ${receipt.status}, ${receipt.error?.code ?? null},
              ${receipt.error?.message ?? null}, ${receipt.rows_read}, ${receipt.rows_accepted}, ${receipt.rows_rejected},
              ${deps.sql.json(receipt.rejected_by_code as never)}, ${new Date(receipt.started_at)},
              ${new Date(receipt.finished_at)}, ${of.key}, ${of.rejectedCsv}, ${receipt.kind ?? 'movements'})
      on conflict (claim_key) do update set
        status = excluded.status, code = excluded.code, message = excluded.message, rows_read = excluded.rows_read,
        rows_accepted = excluded.rows_accepted, rows_rejected = excluded.rows_rejected,
        rejected_by_code = excluded.rejected_by_code, started_at = excluded.started_at,
        finished_at = excluded.finished_at, rejected_csv = excluded.rejected_csv, kind = excluded.kind,
        recorded_at = now()`
  } catch (err) {
    throw classifyDbError(err, { op: 'import-outcome', file: receipt.file })
  }
}
