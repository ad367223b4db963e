// Re-driving failed movements: what `stockflow redrive` and the web console's Errors page both run. One
// selection, one audit row (through record_redrive, so the console's read-only role can write it), one send.
import { createHash } from 'node:crypto'
import type { Producer } from 'kafkajs'
import type { Sql } from '../lib/db.ts'
import { AppError } from '../lib/errors.ts'
import type { Encoder } from '../lib/registry.ts'
import { movementKey, type StockMovement } from '../schemas/contract.ts'
import { REDRIVE_HEADER, SOURCE_FILE_HEADER, SOURCE_LINE_HEADER } from '../schemas/headers.ts'

export interface RedriveFilter {
  code?: string
  store?: number
  item?: number
  /** The source file, as the receipt names it (relative to the input folder). */
  file?: string
  since?: string
  until?: string
}

export interface FailedMovement {
  transaction_id: string
  event_type: 'incoming' | 'sale'
  occurred_at: Date
  store_number: number
  item_number: number
  quantity: number
  code: string
  failed_at: Date
  source_file: string | null
  source_line: number | null
}

/** Failed movements matching the filter. Import-stage rejections are not here: fix the rejected CSV and drop it again. */
export async function selectFailed(sql: Sql, f: RedriveFilter): Promise<FailedMovement[]> {
  const rows = await sql`
    select transaction_id::text, event_type, occurred_at, store_number, item_number, quantity, code, failed_at,
           source_file, source_line
    from redrivable_movements
    where true
      ${f.code ? sql`and code = ${f.code}` : sql``}
      ${f.store !== undefined ? sql`and store_number = ${f.store}` : sql``}
      ${f.item !== undefined ? sql`and item_number = ${f.item}` : sql``}
      ${f.file ? sql`and source_file = ${f.file}` : sql``}
      ${f.since ? sql`and failed_at >= ${new Date(f.since)}` : sql``}
      ${f.until ? sql`and failed_at < ${new Date(f.until)}` : sql``}
    order by failed_at, transaction_id`
  return rows as unknown as FailedMovement[]
}

/**
 * What a preview showed, in a form a confirmation can carry back: a digest of the ids, in order. A send
 * made with it goes ahead only if the selection is still exactly those movements.
 */
export function selectionDigest(rows: Pick<FailedMovement, 'transaction_id'>[]): string {
  const h = createHash('sha256')
  for (const r of rows) h.update(`${r.transaction_id}\n`)
  return h.digest('hex')
}

/** Sends movements back to `events` with their provenance; built once per process from its producer. */
export type RedriveSend = (auditId: number, rows: FailedMovement[]) => Promise<void>

export function createRedriveSender(deps: {
  producer: Producer
  encoder: Encoder<StockMovement>
  topic: string
}): RedriveSend {
  return async (auditId, rows) => {
    await deps.producer.send({
      topic: deps.topic,
      acks: -1,
      // The movement keeps its provenance: the processor records the original file and line again.
      messages: rows.map((r) => ({
        key: movementKey(r.store_number, r.item_number),
        value: deps.encoder.encode({
          transaction_id: r.transaction_id,
          event_type: r.event_type,
          occurred_at: r.occurred_at.getTime(),
          store_number: r.store_number,
          item_number: r.item_number,
          quantity: r.quantity,
        }),
        headers: {
          [REDRIVE_HEADER]: String(auditId),
          ...(r.source_file ? { [SOURCE_FILE_HEADER]: r.source_file } : {}),
          ...(r.source_line ? { [SOURCE_LINE_HEADER]: String(r.source_line) } : {}),
        },
      })),
    })
  }
}

export interface RedriveResult {
  auditId: number
  rows: FailedMovement[]
  digest: string
  dryRun: boolean
}

/**
 * Selects, audits and (unless a dry run) sends. With `expectDigest`, refuses when the selection is no
 * longer what the preview showed: a movement failed or was re-driven in between.
 */
export async function redrive(deps: {
  sql: Sql
  send: RedriveSend | undefined
  filter: RedriveFilter
  dryRun: boolean
  actor: string
  expectDigest?: string
}): Promise<RedriveResult> {
  const rows = await selectFailed(deps.sql, deps.filter)
  const digest = selectionDigest(rows)
  if (deps.expectDigest !== undefined && deps.expectDigest !== digest) {
    throw new AppError(
      'REDRIVE_CHANGED',
      `the failed movements matching this filter changed since the preview (now ${rows.length}); review them again`,
      { context: { filter: deps.filter, count: rows.length } },
    )
  }
  if (!deps.dryRun && rows.length > 0 && !deps.send) {
    throw new AppError('USAGE', 'a re-drive that sends needs a producer')
  }
  const [audit] = await deps.sql`
    select record_redrive(${deps.sql.json(deps.filter as never)}, ${deps.dryRun}, ${rows.length}, ${deps.actor}) as id`
  const auditId = Number(audit!.id)
  if (!deps.dryRun && rows.length > 0) await deps.send!(auditId, rows)
  return { auditId, rows, digest, dryRun: deps.dryRun }
}
