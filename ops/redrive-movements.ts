// Re-driving failed movements: what `stockflow redrive` and the web console's Errors page both run. One
// selection, one audit row (through record_redrive, so the console's read-only role can write it), one send.
import { createHash } from 'node:crypto'
import type { Producer } from 'kafkajs'
import type { Sql, Tx } from '../lib/db.ts'
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

function where(sql: Sql, f: RedriveFilter) {
  return sql`
    where true
      ${f.code ? sql`and code = ${f.code}` : sql``}
      ${f.store !== undefined ? sql`and store_number = ${f.store}` : sql``}
      ${f.item !== undefined ? sql`and item_number = ${f.item}` : sql``}
      ${f.file ? sql`and source_file = ${f.file}` : sql``}
      ${f.since ? sql`and failed_at >= ${new Date(f.since)}` : sql``}
      ${f.until ? sql`and failed_at < ${new Date(f.until)}` : sql``}`
}

const COLUMNS =
  'transaction_id::text, event_type, occurred_at, store_number, item_number, quantity, code, failed_at, source_file, source_line'

/** The first `limit` failed movements matching the filter, in the order a re-drive sends them. */
export async function selectFailed(sql: Tx, f: RedriveFilter, limit = 1000): Promise<FailedMovement[]> {
  const rows = await sql`
    select ${sql.unsafe(COLUMNS)} from redrivable_movements ${where(sql as Sql, f)}
    order by failed_at, transaction_id limit ${limit}`
  return rows as unknown as FailedMovement[]
}

/**
 * How many movements match, and a digest of their ids in order: what a preview showed, in a form a
 * confirmation can carry back. Computed in Postgres, so a selection of any size costs no memory here.
 */
export async function selectionSummary(
  sql: Tx,
  f: RedriveFilter,
): Promise<{ count: number; digest: string }> {
  const [row] = await sql`
    select count(*)::int as count,
           encode(sha256(convert_to(coalesce(string_agg(transaction_id::text || E'\n', '' order by failed_at, transaction_id), ''), 'UTF8')), 'hex') as digest
    from redrivable_movements ${where(sql as Sql, f)}`
  return { count: row!.count as number, digest: row!.digest as string }
}

/** The digest selectionSummary computes, for ids already in hand (the tests check that the two agree). */
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
  count: number
  digest: string
  dryRun: boolean
}

/** Movements sent to Kafka per batch, read from Postgres through a cursor. */
const SEND_BATCH = 1000

/**
 * Audits, checks and (unless a dry run) sends, batch by batch, every failed movement matching the filter.
 * A send is recorded first as 'sending' and finished as 'sent' or 'failed', so the audit never claims what
 * did not happen. The summary and the rows sent come from one snapshot: with `expectDigest`, what is sent
 * is exactly what the preview showed, or nothing ('changed'). `previewId` makes a preview good for one send.
 * `each` sees every batch (the CLI prints them).
 */
export async function redrive(deps: {
  sql: Sql
  send: RedriveSend | undefined
  filter: RedriveFilter
  dryRun: boolean
  actor: string
  expectDigest?: string
  previewId?: number
  each?: (rows: FailedMovement[]) => void
}): Promise<RedriveResult> {
  const { sql, filter } = deps
  if (!deps.dryRun && !deps.send) throw new AppError('USAGE', 'a re-drive that sends needs a producer')
  if (deps.dryRun) {
    const summary = await selectionSummary(sql, filter)
    const [audit] = await sql`
      select record_redrive(${sql.json(filter as never)}, true, ${summary.count}, ${deps.actor}, null) as id`
    if (deps.each) {
      for await (const batch of sql`
        select ${sql.unsafe(COLUMNS)} from redrivable_movements ${where(sql, filter)}
        order by failed_at, transaction_id`.cursor(SEND_BATCH))
        deps.each(batch as unknown as FailedMovement[])
    }
    return { auditId: Number(audit!.id), ...summary, dryRun: true }
  }
  let auditId: number
  try {
    const [audit] = await sql`
      select record_redrive(${sql.json(filter as never)}, false, 0, ${deps.actor}, ${deps.previewId ?? null}) as id`
    auditId = Number(audit!.id)
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code === '23505') {
      throw new AppError(
        'REDRIVE_CHANGED',
        'this preview was already confirmed; preview again to re-drive more',
      )
    }
    if (code === '22023') throw new AppError('WEB_INPUT', 'confirm a re-drive from its own preview')
    throw err
  }
  const finish = (status: string, count: number, error: string | null) =>
    sql`select finish_redrive(${auditId}, ${status}, ${count}, ${error})`
  let sent = 0
  try {
    const summary = await sql.begin('isolation level repeatable read', async (tx) => {
      const now = await selectionSummary(tx, filter)
      if (deps.expectDigest !== undefined && deps.expectDigest !== now.digest)
        return { ...now, changed: true }
      for await (const batch of tx`
        select ${tx.unsafe(COLUMNS)} from redrivable_movements ${where(tx as unknown as Sql, filter)}
        order by failed_at, transaction_id`.cursor(SEND_BATCH)) {
        const rows = batch as unknown as FailedMovement[]
        await deps.send!(auditId, rows)
        sent += rows.length
        deps.each?.(rows)
      }
      return { ...now, changed: false }
    })
    if (summary.changed) {
      await finish('changed', 0, 'the selection changed since the preview')
      throw new AppError(
        'REDRIVE_CHANGED',
        `the failed movements matching this filter changed since the preview (now ${summary.count}); review them again`,
        { context: { filter, count: summary.count } },
      )
    }
    await finish('sent', sent, null)
    return { auditId, count: summary.count, digest: summary.digest, dryRun: false }
  } catch (err) {
    if (!(err instanceof AppError && err.code === 'REDRIVE_CHANGED')) {
      await finish('failed', sent, (err as Error).message).catch(() => {})
    }
    throw err
  }
}
