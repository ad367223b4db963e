// Re-driving failed movements: what `stockflow redrive` and the web console's Errors page both run. One
// selection, one audit row (through record_redrive, so the console's read-only role can write it), one send.
import { createHash } from 'node:crypto'
import type { Producer } from 'kafkajs'
import type { Sql, Tx } from '../lib/db.ts'
import { AppError } from '../lib/errors.ts'
import type { Logger } from '../lib/log.ts'
import type { Encoder } from '../lib/registry.ts'
import { type EventType, movementKey, type StockMovement } from '../schemas/contract.ts'
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
  event_type: EventType
  occurred_at: Date
  store_number: number
  item_number: number
  quantity: number
  code: string
  failed_at: Date
  source_file: string | null
  source_line: number | null
  to_store_number: number | null
  reverses: string | null
}

/** The filter as SQL; record_redrive (migration 017) reads the same filter the same way to check a count. */
function where(sql: Sql, f: RedriveFilter) {
  return sql`
    where true
      ${f.code !== undefined ? sql`and code = ${f.code}` : sql``}
      ${f.store !== undefined ? sql`and store_number = ${f.store}` : sql``}
      ${f.item !== undefined ? sql`and item_number = ${f.item}` : sql``}
      ${f.file !== undefined ? sql`and source_file = ${f.file}` : sql``}
      ${f.since !== undefined ? sql`and failed_at >= ${f.since}::timestamptz` : sql``}
      ${f.until !== undefined ? sql`and failed_at < ${f.until}::timestamptz` : sql``}`
}

const COLUMNS =
  'transaction_id::text, event_type, occurred_at, store_number, item_number, quantity, code, failed_at, source_file, source_line, to_store_number, reverses::text'

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
          to_store_number: r.to_store_number,
          reverses: r.reverses,
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
  /** The first `firstRows` movements of the selection, from the same snapshot as the count and digest. */
  first: FailedMovement[]
}

/** Movements read and sent per batch. */
const BATCH = 1000

/**
 * Every movement matching the filter, in send order, a batch per statement: keyset paging, not a cursor,
 * since a cursor's fetches all count against its first statement's statement_timeout, and a long send
 * would run out of it. Run inside a REPEATABLE READ transaction, the batches are one snapshot. The key's
 * time travels as Postgres's own text: as a timestamptz parameter, postgres.js would send it through a JS
 * Date and lose the microseconds, and the page would never move on.
 */
async function* batches(tx: Tx, filter: RedriveFilter): AsyncGenerator<FailedMovement[]> {
  let after: { at: string; id: string } | undefined
  for (;;) {
    const rows = await tx`
      select ${tx.unsafe(COLUMNS)}, failed_at::text as failed_at_key from redrivable_movements
      ${where(tx as Sql, filter)}
      ${after ? tx`and (failed_at, transaction_id) > (${after.at}::text::timestamptz, ${after.id}::uuid)` : tx``}
      order by failed_at, transaction_id
      limit ${BATCH}`
    if (rows.length === 0) return
    const last = rows[rows.length - 1]!
    if (after && after.id === last.transaction_id && after.at === last.failed_at_key) {
      throw new AppError('DB_ERROR', 're-drive paging did not move past its last row')
    }
    after = { at: last.failed_at_key as string, id: last.transaction_id as string }
    yield rows.map(({ failed_at_key: _, ...r }) => r) as unknown as FailedMovement[]
    if (rows.length < BATCH) return
  }
}

/**
 * Audits, checks and (unless a dry run) sends every failed movement matching the filter, batch by batch.
 * A send is recorded first as 'sending' and finished as 'sent', 'failed' or 'changed', so the audit never
 * claims what did not happen. The summary and the rows come from one snapshot: with `expectDigest`, what is
 * sent is exactly what the preview showed, or nothing. `previewId` makes a preview good for one send.
 * `each` sees every batch (the CLI prints them; the console's preview forecasts them); `firstRows` keeps
 * that many for a preview page.
 */
export async function redrive(deps: {
  sql: Sql
  send: RedriveSend | undefined
  filter: RedriveFilter
  dryRun: boolean
  actor: string
  expectDigest?: string
  previewId?: number
  /**
   * Awaited before the next batch is read; `tx` reads from the selection's own snapshot. In a dry run,
   * returning false stops the reading there (a send always reads everything).
   */
  each?: (rows: FailedMovement[], tx: Tx) => unknown
  firstRows?: number
  log?: Logger
}): Promise<RedriveResult> {
  const { sql, filter } = deps
  const keep = deps.firstRows ?? 0
  const first: FailedMovement[] = []
  const collect = async (rows: FailedMovement[], tx: Tx): Promise<boolean> => {
    if (first.length < keep) first.push(...rows.slice(0, keep - first.length))
    return (await deps.each?.(rows, tx)) !== false
  }
  if (deps.dryRun) {
    return sql.begin('isolation level repeatable read', async (tx) => {
      const summary = await selectionSummary(tx, filter)
      const [audit] = await tx`
        select record_redrive(${tx.json(filter as never)}, true, ${summary.count}, ${deps.actor}, null) as id`
      if (deps.each || keep > 0) {
        for await (const rows of batches(tx, filter)) {
          const more = await collect(rows, tx)
          if (!more || (!deps.each && first.length >= keep)) break
        }
      }
      return { auditId: Number(audit!.id), ...summary, dryRun: true, first }
    }) as Promise<RedriveResult>
  }
  if (!deps.send) throw new AppError('USAGE', 'a re-drive that sends needs a producer')
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
    // The database says which rule the request broke (a preview of another filter, an actor it refuses, …).
    if (code === '22023')
      throw new AppError('WEB_INPUT', `the re-drive was refused: ${(err as Error).message}`, { cause: err })
    throw err
  }
  const finish = (status: string, count: number, error: string | null) =>
    sql`select finish_redrive(${auditId}, ${status}, ${count}, ${error})`.catch((err) => {
      // The send itself is done or refused either way; the row then stays 'sending' for an operator to see.
      deps.log?.error({ err, redrive: auditId, status }, 're-drive audit could not be finished')
    })
  let sent = 0
  let summary: { count: number; digest: string } | undefined
  let allSent = false
  try {
    await sql.begin('isolation level repeatable read', async (tx) => {
      summary = await selectionSummary(tx, filter)
      if (deps.expectDigest !== undefined && deps.expectDigest !== summary.digest) return
      for await (const rows of batches(tx, filter)) {
        await deps.send!(auditId, rows)
        sent += rows.length
        await collect(rows, tx)
      }
      allSent = true
    })
  } catch (err) {
    // Only reads ran in that transaction: once everything was sent, a failure to end it changes nothing.
    if (!allSent) {
      await finish('failed', sent, (err as Error).message)
      throw err
    }
  }
  if (!allSent) {
    await finish('changed', 0, 'the selection changed since the preview')
    throw new AppError(
      'REDRIVE_CHANGED',
      `the failed movements matching this filter changed since the preview (now ${summary?.count}); review them again`,
      { context: { filter, count: summary?.count } },
    )
  }
  await finish('sent', sent, null)
  return { auditId, count: sent, digest: summary!.digest, dryRun: false, first }
}
