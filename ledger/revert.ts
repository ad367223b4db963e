// Undoing a whole imported file: what `stockflow revert` and the console's import page both run. Nothing is
// deleted: every movement the file applied gets a reversal, published to `events` like any other movement,
// and one the file left parked is withdrawn by it. Reversal ids derive from the originals, and the first run
// dates them, so a run cut short by a crash is simply run again.
import { createHash } from 'node:crypto'
import type { Producer } from 'kafkajs'
import type { Sql } from '../lib/db.ts'
import { AppError } from '../lib/errors.ts'
import type { Encoder } from '../lib/registry.ts'
import { type EventType, movementKey, type StockMovement } from '../schemas/contract.ts'
import { SOURCE_FILE_HEADER } from '../schemas/headers.ts'

/** Which import: by the name its receipt gives, or by its content's sha256. */
export interface RevertSelector {
  file?: string
  sha256?: string
}

export interface ImportMovement {
  transaction_id: string
  event_type: EventType
  store_number: number
  item_number: number
  quantity: number
  state: 'applied' | 'parked' | 'failed' | 'withdrawn'
  delta: number | null
  second_store: number | null
  second_delta: number | null
  reversed_by: string | null
  /** A reversal of it that failed (it can be re-driven, not sent again: its id would be the same). */
  failed_reversal: string | null
}

export interface RevertCounts {
  /** Applied movements that get a reversal now. */
  toReverse: number
  /** Applied or parked movements a reversal already cancels (or is waiting to). */
  alreadyReversed: number
  /** Movements still parked: their reversal withdraws them, and they are never applied. */
  toWithdraw: number
  /** Of toReverse, those whose item would go below zero: their reversal parks, then fails. */
  belowZero: number
  /** Movements whose reversal failed before (say, for want of stock): re-drive it, `stockflow redrive`. */
  reversalFailed: number
  /** Reversals in the file itself: a reversal is never reversed, so these are left. */
  reversalsInFile: number
  /** Movements of the file that failed or were withdrawn before: nothing to undo. */
  notApplied: number
}

export interface ItemOutcome {
  store: number
  item: number
  quantity: number
  after: number
}

export interface RevertPlan {
  sha256: string
  fileName: string
  rowsAccepted: number
  counts: RevertCounts
  /** Stock of every item the revert changes, now and after (a reversal that would park changes nothing). */
  items: ItemOutcome[]
  /**
   * The reversals to publish, newest original first: undone in the reverse of the order they were done, a
   * transfer out is given back before the incoming that stocked it is taken back.
   */
  reversals: StockMovement[]
  /** When the file was first reverted, if it was: the date every later run's reversals carry. */
  revertedAt: Date | null
}

/**
 * A reversal's id, derived from its original's: the same original always gets the same reversal. A UUID of
 * version 8 (custom), so it cannot collide with a random (version 4) id a store system wrote.
 */
export function reversalIdOf(originalId: string): string {
  const h = createHash('sha256').update(`stockflow-reversal:${originalId.toLowerCase()}`).digest('hex')
  const variant = ((Number.parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/** The import a selector names; a name imported with different contents must be chosen by sha256. */
export async function findImport(
  sql: Sql,
  sel: RevertSelector,
): Promise<{ sha256: string; fileName: string; rowsAccepted: number; revertedAt: Date | null }> {
  const rows = sel.sha256
    ? await sql`
        select sha256, file_name, rows_accepted, reverted_at from import_history
        where sha256 = ${sel.sha256.toLowerCase()} and status = 'processed' order by id desc`
    : await sql`
        select sha256, file_name, rows_accepted, reverted_at from import_history
        where file_name = ${sel.file ?? ''} and status = 'processed' and sha256 is not null order by id desc`
  if (rows.length === 0) {
    throw new AppError(
      'REVERT_NOT_FOUND',
      sel.sha256
        ? `no processed import has sha256 ${sel.sha256}`
        : `no processed import is named '${sel.file}' (the name as its receipt gives it, relative to the input folder)`,
    )
  }
  const shas = [...new Set(rows.map((r) => r.sha256 as string))]
  if (shas.length > 1) {
    throw new AppError(
      'REVERT_AMBIGUOUS',
      `'${sel.file}' was imported with ${shas.length} different contents; choose one with --sha256:\n  ${shas.join('\n  ')}`,
    )
  }
  const [first] = rows
  return {
    sha256: shas[0]!,
    fileName: first!.file_name,
    rowsAccepted: Number(first!.rows_accepted),
    revertedAt: first!.reverted_at ?? null,
  }
}

/** What a revert would do, decided from the import's movements and current stock. Pure. */
export function planRevert(
  movements: ImportMovement[],
  stock: ReadonlyMap<string, number>,
  occurredAt: number,
): { counts: RevertCounts; items: ItemOutcome[]; reversals: StockMovement[] } {
  const counts: RevertCounts = {
    toReverse: 0,
    alreadyReversed: 0,
    toWithdraw: 0,
    belowZero: 0,
    reversalFailed: 0,
    reversalsInFile: 0,
    notApplied: 0,
  }
  const after = new Map<string, ItemOutcome>()
  const outcome = (store: number, item: number) => {
    const key = movementKey(store, item)
    let o = after.get(key)
    if (!o) {
      const quantity = stock.get(key) ?? 0
      o = { store, item, quantity, after: quantity }
      after.set(key, o)
    }
    return o
  }
  const reversals: StockMovement[] = []
  // `movements` come newest first, the order the reversals are sent and applied in: each is simulated on the
  // stock its predecessors leave, and one that would take an item below zero parks (and changes nothing).
  for (const m of movements) {
    if (m.state === 'failed' || m.state === 'withdrawn') {
      counts.notApplied++
      continue
    }
    if (m.reversed_by !== null) {
      counts.alreadyReversed++
      continue
    }
    if (m.failed_reversal !== null) {
      counts.reversalFailed++
      continue
    }
    // A parked reversal of the file is withdrawn like any parked movement; an applied one stays.
    if (m.event_type === 'reversal' && m.state === 'applied') {
      counts.reversalsInFile++
      continue
    }
    reversals.push({
      transaction_id: reversalIdOf(m.transaction_id),
      event_type: 'reversal',
      occurred_at: occurredAt,
      store_number: m.store_number,
      item_number: m.item_number,
      quantity: m.quantity,
      reverses: m.transaction_id,
    })
    if (m.state === 'parked') {
      counts.toWithdraw++
      continue
    }
    counts.toReverse++
    const legs = [{ o: outcome(m.store_number, m.item_number), change: -(m.delta ?? 0) }]
    if (m.second_store !== null) {
      legs.push({ o: outcome(m.second_store, m.item_number), change: -(m.second_delta ?? 0) })
    }
    if (legs.some((l) => l.o.after + l.change < 0)) counts.belowZero++
    else for (const l of legs) l.o.after += l.change
  }
  const items = [...after.values()]
    .filter((o) => o.after !== o.quantity)
    .sort((a, b) => a.store - b.store || a.item - b.item)
  return { counts, items, reversals }
}

/** Everything a revert of `sel` would do, read in one snapshot, newest movement first. */
export async function previewRevert(sql: Sql, sel: RevertSelector, now = Date.now()): Promise<RevertPlan> {
  const target = await findImport(sql, sel)
  return (await sql.begin('isolation level repeatable read read only', async (tx) => {
    const movements = (await tx`
      select transaction_id::text, event_type, store_number, item_number, quantity, state, delta, second_store,
             second_delta, reversed_by::text, failed_reversal::text
      from import_movements where source_digest = ('x' || left(${target.sha256}, 16))::bit(64)::bigint
      order by occurred_at desc, transaction_id desc`) as unknown as ImportMovement[]
    for (const m of movements) {
      m.delta = m.delta === null ? null : Number(m.delta)
      m.second_delta = m.second_delta === null ? null : Number(m.second_delta)
    }
    const keys = new Set<string>()
    for (const m of movements) {
      keys.add(movementKey(m.store_number, m.item_number))
      if (m.second_store !== null) keys.add(movementKey(m.second_store, m.item_number))
    }
    const levels = await tx`
      select store_number, item_number, quantity from stock_overview
      where (store_number::text || ':' || item_number::text) = any(${[...keys]}::text[])`
    const stock = new Map(levels.map((l) => [movementKey(l.store_number, l.item_number), Number(l.quantity)]))
    const occurredAt = (target.revertedAt ?? new Date(now)).getTime()
    return { ...target, ...planRevert(movements, stock, occurredAt) }
  })) as RevertPlan
}

/** Publishes reversals to `events`, keyed like their originals, so each follows its original's partition. */
export type RevertSend = (fileName: string, reversals: StockMovement[]) => Promise<void>

export function createRevertSender(deps: {
  producer: Producer
  encoder: Encoder<StockMovement>
  topic: string
}): RevertSend {
  return async (fileName, reversals) => {
    for (let i = 0; i < reversals.length; i += 1000) {
      await deps.producer.send({
        topic: deps.topic,
        acks: -1,
        messages: reversals.slice(i, i + 1000).map((m) => ({
          key: movementKey(m.store_number, m.item_number),
          value: deps.encoder.encode(m),
          // Where the reversal came from; not the file's own sha256, so it is never taken for one of its rows.
          headers: { [SOURCE_FILE_HEADER]: `stockflow revert ${fileName}` },
        })),
      })
    }
  }
}

/** What a preview showed, in a form a confirmation can carry back: the reversals it would send. */
export function planDigest(plan: Pick<RevertPlan, 'reversals'>): string {
  const h = createHash('sha256')
  for (const r of plan.reversals) h.update(`${r.transaction_id}\n`)
  return h.digest('hex')
}

export interface RevertResult extends RevertPlan {
  auditId: number | null
  sent: number
}

/**
 * Reverts the import `sel` names: records the run (who, when, what it found), then publishes its reversals.
 * The first run's date is every run's date, so the same original always gets an identical reversal; sent
 * again, it is a duplicate the processor drops.
 */
export async function revert(deps: {
  sql: Sql
  send: RevertSend | undefined
  selector: RevertSelector
  dryRun: boolean
  actor: string
  /** A confirmed preview's digest: the revert publishes exactly what it showed, or nothing. */
  expectDigest?: string
}): Promise<RevertResult> {
  const plan = await previewRevert(deps.sql, deps.selector)
  if (deps.dryRun) return { ...plan, auditId: null, sent: 0 }
  if (deps.expectDigest !== undefined && deps.expectDigest !== planDigest(plan)) {
    throw new AppError(
      'REVERT_CHANGED',
      `the movements of ${plan.fileName} changed since the preview (${plan.reversals.length} to publish now); review them again`,
    )
  }
  if (!deps.send) throw new AppError('USAGE', 'a revert that publishes needs a producer')
  const c = plan.counts
  const [audit] = await deps.sql`
    select revert_id, reversal_date from record_revert(${plan.sha256}, ${plan.fileName}, ${deps.actor},
      ${c.toReverse + c.alreadyReversed + c.toWithdraw}, ${plan.reversals.length}, ${c.alreadyReversed},
      ${c.toWithdraw}, ${c.belowZero})`
  // A revert running at the same time may have dated the file first: its date is the one that counts.
  const date = (audit!.reversal_date as Date).getTime()
  const reversals = plan.reversals.map((r) => ({ ...r, occurred_at: date }))
  await deps.send(plan.fileName, reversals)
  await deps.sql`select finish_revert(${audit!.revert_id})`
  return { ...plan, reversals, auditId: Number(audit!.revert_id), sent: reversals.length }
}
