// Every file's outcome where operators look: one row in import_outcomes (rows by code, or the file-level
// failure), and for a file refused as a whole one StockError on `errors`, so the alerter tells someone.
// Written before the file moves, so a failure here leaves the file where it is, to be tried again.
import type { Producer } from 'kafkajs'
import type { Sql } from '../lib/db.ts'
import { classifyDbError, errorId } from '../lib/errors.ts'
import type { Encoder } from '../lib/registry.ts'
import type { StockError } from '../schemas/contract.ts'
import { SOURCE_FILE_HEADER } from '../schemas/headers.ts'
import { stockError } from '../schemas/payloads.ts'
import type { Receipt } from './receipt.ts'

export interface OutcomeDeps {
  sql: Sql
  producer: Producer
  errors: Encoder<StockError>
  topics: { errors: string }
  clock: () => number
}

/** The StockError for a file refused as a whole; undefined when the file itself was fine. */
export function fileFailure(receipt: Receipt, now: number): StockError | undefined {
  if (receipt.status !== 'failed' || !receipt.error) return undefined
  const { code, message } = receipt.error
  return stockError(
    {
      // The same file (by content, or by name and start when it could not be read) fails with one id.
      error_id: errorId('import-file', code, receipt.file, receipt.sha256 || receipt.started_at),
      stage: 'import',
      code,
      message: `file ${receipt.file} was not imported: ${message}`,
      source_file: receipt.file,
    },
    now,
  )
}

export async function reportOutcome(deps: OutcomeDeps, receipt: Receipt): Promise<void> {
  const failure = fileFailure(receipt, deps.clock())
  if (failure) {
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
  }
  try {
    await deps.sql`
      insert into import_outcomes (file_name, sha256, status, code, message, rows_read, rows_accepted, rows_rejected,
                                   rejected_by_code, started_at, finished_at)
      values (${receipt.file}, ${receipt.sha256 || null}, ${receipt.status}, ${receipt.error?.code ?? null},
              ${receipt.error?.message ?? null}, ${receipt.rows_read}, ${receipt.rows_accepted}, ${receipt.rows_rejected},
              ${deps.sql.json(receipt.rejected_by_code as never)}, ${new Date(receipt.started_at)},
              ${new Date(receipt.finished_at)})`
  } catch (err) {
    throw classifyDbError(err, { op: 'import-outcome', file: receipt.file })
  }
}
