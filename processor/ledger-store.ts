import { arrayLiteral, chunks, dictionary, type Sql, type Transaction, type Tx } from '../lib/db.ts'
import { UNIQUE_VIOLATION } from '../lib/errors.ts'
import { type EventType, movementKey, type StockMovement } from '../schemas/contract.ts'
import type { Applied, Changes, Key, Level, Parked, RejectedMessage, StoredMovement } from './ledger-model.ts'

/**
 * Claims ids for this transaction; returns those nobody had. An id another open transaction is claiming
 * makes this insert wait for it to finish, so the caller then sees that transaction's outcome.
 */
export async function claimIds(tx: Transaction, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set()
  // Nearly every batch is all new ids. A plain insert claims them for less CPU than ON CONFLICT's
  // speculative insertion takes (figures in the README's performance section); a unique violation
  // (a duplicate, or an id another transaction committed while we waited) rolls back to the savepoint,
  // and the ids are claimed again below with ON CONFLICT, which skips the taken ones.
  const idArray = arrayLiteral(ids)
  try {
    await tx.savepoint(
      (sp) => sp`
        insert into transaction_claims (transaction_id)
        select id from unnest(${idArray}::text::uuid[]) as u(id) order by id`,
    )
    return new Set(ids)
  } catch (err) {
    if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err
  }
  const rows = await tx`
    insert into transaction_claims (transaction_id)
    select id from unnest(${idArray}::text::uuid[]) as u(id) order by id
    on conflict do nothing
    returning transaction_id::text`
  return new Set(rows.map((r) => r.transaction_id as string))
}

export async function writeRejected(tx: Tx, rows: RejectedMessage[]): Promise<void> {
  if (rows.length === 0) return
  await tx`
    insert into rejected_messages (topic, partition, "offset", code, reason, error_id)
    select * from unnest(${rows.map((r) => r.topic)}::text[], ${rows.map((r) => r.partition)}::int[],
      ${rows.map((r) => r.offset)}::bigint[], ${rows.map((r) => r.code)}::text[],
      ${rows.map((r) => r.reason)}::text[], ${rows.map((r) => r.errorId)}::text[])
    on conflict do nothing`
}

/** A movement as the journal, the parking lot and failed_movements store it. */
export const toMovement = (r: Record<string, unknown>): StockMovement & { event_type: EventType } => ({
  transaction_id: r.transaction_id as string,
  event_type: r.event_type as EventType,
  occurred_at: (r.occurred_at as Date).getTime(),
  store_number: r.store_number as number,
  item_number: r.item_number as number,
  quantity: r.quantity as number,
  to_store_number: (r.to_store_number as number | null) ?? null,
  reverses: (r.reverses as string | null) ?? null,
})

/** Transaction ids this ledger has already seen, wherever they ended up. */
export async function findExisting(tx: Tx, ids: string[]): Promise<Map<string, StoredMovement>> {
  if (ids.length === 0) return new Map()
  const rows = await tx`
    select transaction_id::text, event_type, occurred_at, store_number, item_number, quantity, to_store_number,
           reverses::text, 'journal' as where_
      from stock_journal where transaction_id = any(${ids}::uuid[]) and leg = 1
    union all
    select transaction_id::text, event_type, occurred_at, store_number, item_number, quantity, to_store_number,
           reverses::text, 'parked'
      from parked_sales where transaction_id = any(${ids}::uuid[])
    union all
    select transaction_id::text, event_type, occurred_at, store_number, item_number, quantity, to_store_number,
           reverses::text, case code when 'WITHDRAWN' then 'withdrawn' else 'failed' end
      from failed_movements where transaction_id = any(${ids}::uuid[]) and redriven_at is null`
  return new Map(rows.map((r) => [r.transaction_id as string, { movement: toMovement(r), where: r.where_ }]))
}

/**
 * Creates missing rows, then locks the levels of `keys` in (store, item) order: two transactions
 * touching overlapping keys always lock in the same order, so they cannot deadlock.
 */
export async function lockLevels(
  tx: Tx,
  keys: { store: number; item: number }[],
  defaultThreshold: number,
): Promise<Map<Key, Level>> {
  if (keys.length === 0) return new Map()
  const stores = arrayLiteral(keys.map((k) => k.store))
  const items = arrayLiteral(keys.map((k) => k.item))
  await tx`
    insert into stock_levels (store_number, item_number)
    select * from unnest(${stores}::text::int[], ${items}::text::int[]) order by 1, 2
    on conflict do nothing`
  const rows = await tx`
    select l.store_number, l.item_number, l.quantity, l.low_state, l.low_episode, l.last_transaction_id::text,
           coalesce(ti.threshold, ts.threshold, ${defaultThreshold}::int) as threshold
    from stock_levels l
    join unnest(${stores}::text::int[], ${items}::text::int[]) as k(store_number, item_number)
      using (store_number, item_number)
    left join stock_thresholds ti on ti.store_number = l.store_number and ti.item_number = l.item_number
    left join stock_thresholds ts on ts.store_number = l.store_number and ts.item_number is null
    order by l.store_number, l.item_number
    for update of l`
  return new Map(
    rows.map((r) => [
      movementKey(r.store_number, r.item_number),
      {
        store: r.store_number,
        item: r.item_number,
        quantity: r.quantity,
        known: r.last_transaction_id !== null,
        lowState: r.low_state,
        lowEpisode: r.low_episode,
        threshold: r.threshold,
        lastTransactionId: r.last_transaction_id,
        dirty: false,
      } satisfies Level,
    ]),
  )
}

const toParked = (r: Record<string, unknown>): Parked => ({
  movement: toMovement(r),
  sourceFile: r.source_file as string | null,
  // As text: a bigint read as a JavaScript number would lose its low bits.
  sourceDigest: r.source_digest as string | null,
  sourceLine: r.source_line as number | null,
  topic: r.topic as string,
  partition: r.partition as number,
  offset: r.offset as number,
  reason: r.reason as Parked['reason'],
  attempts: r.attempts as number,
  attemptedAt: (r.attempted_at as (string | number)[]).map(Number),
  firstSeenAt: (r.first_seen_at as Date).getTime(),
  nextAttemptAt: (r.next_attempt_at as Date).getTime(),
})

/**
 * What the parked transfers and reversals of `keys` reach beyond their own item, read before anything is
 * locked (no lock: one parked after this read is left for the scheduled retry): the batch that may release
 * them locks their destinations and originals' stores too.
 */
export async function parkedReach(
  tx: Tx,
  keys: { store: number; item: number }[],
): Promise<{ item: number; toStore: number | null; reverses: string | null }[]> {
  if (keys.length === 0) return []
  const rows = await tx`
    select p.item_number, p.to_store_number, p.reverses::text from parked_sales p
    join unnest(${arrayLiteral(keys.map((k) => k.store))}::text::int[],
                ${arrayLiteral(keys.map((k) => k.item))}::text::int[]) as k(store_number, item_number)
      using (store_number, item_number)
    where p.event_type in ('transfer', 'reversal')`
  return rows.map((r) => ({ item: r.item_number, toStore: r.to_store_number, reverses: r.reverses }))
}

/** Parked sales of the given keys, each key's list in arrival order, locked. Call after lockLevels. */
export async function loadParked(
  tx: Tx,
  keys: { store: number; item: number }[],
): Promise<Map<Key, Parked[]>> {
  if (keys.length === 0) return new Map()
  const rows = await tx`
    select p.*, p.transaction_id::text as transaction_id, p.reverses::text as reverses,
           p.source_digest::text as source_digest from parked_sales p
    join unnest(${arrayLiteral(keys.map((k) => k.store))}::text::int[],
                ${arrayLiteral(keys.map((k) => k.item))}::text::int[]) as k(store_number, item_number)
      using (store_number, item_number)
    order by p.first_seen_at, p.partition, p."offset"
    for update of p`
  return groupByKey(rows.map(toParked))
}

export function groupByKey(parked: Parked[]): Map<Key, Parked[]> {
  const out = new Map<Key, Parked[]>()
  for (const p of parked) {
    const key = movementKey(p.movement.store_number, p.movement.item_number)
    const list = out.get(key)
    if (list) list.push(p)
    else out.set(key, [p])
  }
  return out
}

export interface DueParked {
  id: string
  store: number
  item: number
  /** A transfer's destination, which the retry must lock as well. */
  toStore: number | null
  /** A reversal's original, whose stores the retry must lock as well. */
  reverses: string | null
}

/**
 * The most overdue parked movements, at most `limit` (no locks). The scheduled retry takes exactly these,
 * and their keys, so the movements it locks are always the ones it selected.
 */
export async function selectDueParked(sql: Sql, now: number, limit: number): Promise<DueParked[]> {
  const rows = await sql`
    select transaction_id::text as id, store_number, item_number, to_store_number, reverses::text from parked_sales
    where next_attempt_at <= ${new Date(now)}
    order by next_attempt_at, first_seen_at
    limit ${limit}`
  return rows.map((r) => ({
    id: r.id as string,
    store: r.store_number,
    item: r.item_number,
    toStore: r.to_store_number,
    reverses: r.reverses,
  }))
}

/** Locks the given parked sales that are still due (another processor may have retried some), in arrival order. */
export async function lockDueParked(tx: Tx, ids: string[], now: number): Promise<Parked[]> {
  if (ids.length === 0) return []
  const rows = await tx`
    select p.*, p.transaction_id::text as transaction_id, p.reverses::text as reverses,
           p.source_digest::text as source_digest from parked_sales p
    where p.transaction_id = any(${ids}::uuid[]) and p.next_attempt_at <= ${new Date(now)}
    order by p.first_seen_at, p.partition, p."offset"
    for update`
  return rows.map(toParked)
}
/** A journal row: an applied movement's leg 1, or its leg 2 with that store and change. */
type JournalRow = Applied & { leg?: 2; store?: number }

/**
 * Writes applied movements to the journal in the order they were applied, leg 2 right after leg 1, so
 * entry_id orders every store's rows as its running balance moved.
 */
async function writeJournal(tx: Tx, applied: Applied[]): Promise<void> {
  const a: JournalRow[] = applied.some((x) => x.second)
    ? applied.flatMap((x) =>
        x.second
          ? [
              x,
              {
                ...x,
                leg: 2 as const,
                store: x.second.store,
                delta: x.second.delta,
                quantityAfter: x.second.quantityAfter,
              },
            ]
          : [x],
      )
    : applied
  const types = dictionary(a.map((x) => x.movement.event_type))
  const files = dictionary(a.map((x) => x.sourceFile))
  const digests = dictionary(a.map((x) => x.sourceDigest ?? null))
  const topics = dictionary(a.map((x) => x.topic))
  // Incomings and sales, nearly every row, carry neither correction field, and their delta is their quantity
  // with the type's sign: those columns are only sent when a row of the batch is a correction (unnest pads a
  // null array with nulls). Every byte of this statement is paid for on every event.
  const corrections = a.some((x) => x.movement.event_type !== 'incoming' && x.movement.event_type !== 'sale')
  const toStores = corrections ? arrayLiteral(a.map((x) => x.movement.to_store_number ?? null)) : null
  const reverses = corrections ? arrayLiteral(a.map((x) => x.movement.reverses ?? null)) : null
  const legs = corrections ? arrayLiteral(a.map((x) => x.leg ?? 1)) : null
  await tx`
      insert into stock_journal (transaction_id, event_type, occurred_at, store_number, item_number, quantity,
                                 attempts, source_file, source_line, topic, partition, "offset", delta,
                                 quantity_after, source_digest, to_store_number, reverses, leg)
      select id, (${types.words}::text[])[type], to_timestamp(at / 1000) + (at % 1000) * interval '1 millisecond',
             store, item, qty, attempts, (${files.words}::text[])[file], line, (${topics.words}::text[])[topic],
             part, off, coalesce(delta, case (${types.words}::text[])[type] when 'sale' then -qty else qty end), after,
             (${digests.words}::text[])[sha]::bigint,
             to_store, reverses, coalesce(leg, 1)
      from unnest(
        ${arrayLiteral(a.map((x) => x.movement.transaction_id))}::text::uuid[],
        ${types.refs}::text::int[],
        ${arrayLiteral(a.map((x) => x.movement.occurred_at))}::text::bigint[],
        ${arrayLiteral(a.map((x) => x.store ?? x.movement.store_number))}::text::int[],
        ${arrayLiteral(a.map((x) => x.movement.item_number))}::text::int[],
        ${arrayLiteral(a.map((x) => x.movement.quantity))}::text::int[],
        ${arrayLiteral(a.map((x) => x.attempts))}::text::int[],
        ${files.refs}::text::int[],
        ${arrayLiteral(a.map((x) => x.sourceLine))}::text::bigint[],
        ${topics.refs}::text::int[],
        ${arrayLiteral(a.map((x) => x.partition))}::text::int[],
        ${arrayLiteral(a.map((x) => x.offset))}::text::bigint[],
        ${corrections ? arrayLiteral(a.map((x) => x.delta)) : null}::text::bigint[],
        ${arrayLiteral(a.map((x) => x.quantityAfter))}::text::bigint[],
        ${digests.refs}::text::int[],
        ${legs}::text::smallint[],
        ${toStores}::text::int[],
        ${reverses}::text::uuid[])
        as u(id, type, at, store, item, qty, attempts, file, line, topic, part, off, delta, after, sha, leg, to_store,
             reverses)`
}

export async function writeChanges(tx: Tx, changes: Changes, levels: Map<Key, Level>): Promise<void> {
  if (changes.applied.length > 0) await writeJournal(tx, changes.applied)
  const dirty = [...levels.values()].filter((l) => l.dirty)
  if (dirty.length > 0) {
    await tx`
      update stock_levels l set quantity = v.quantity, low_state = v.low_state, low_episode = v.low_episode,
             last_transaction_id = v.last_transaction_id, updated_at = now()
      from unnest(${arrayLiteral(dirty.map((l) => l.store))}::text::int[],
                  ${arrayLiteral(dirty.map((l) => l.item))}::text::int[],
                  ${arrayLiteral(dirty.map((l) => l.quantity))}::text::bigint[],
                  ${arrayLiteral(dirty.map((l) => l.lowState))}::text::smallint[],
                  ${arrayLiteral(dirty.map((l) => l.lowEpisode))}::text::int[],
                  ${arrayLiteral(dirty.map((l) => l.lastTransactionId))}::text::uuid[])
           as v(store_number, item_number, quantity, low_state, low_episode, last_transaction_id)
      where l.store_number = v.store_number and l.item_number = v.item_number`
  }
  if (changes.unfailed.length > 0) {
    // Kept and marked, not deleted: the failure and the movement's origin stay on record.
    await tx`update failed_movements set redriven_at = now() where transaction_id = any(${changes.unfailed}::uuid[])`
  }
  if (changes.parkedRemoved.length > 0) {
    await tx`delete from parked_sales where transaction_id = any(${changes.parkedRemoved}::uuid[])`
  }
  const parkedRow = (p: Parked) => ({
    transaction_id: p.movement.transaction_id,
    event_type: p.movement.event_type,
    to_store_number: p.movement.to_store_number ?? null,
    reverses: p.movement.reverses ?? null,
    source_digest: p.sourceDigest ?? null,
    occurred_at: new Date(p.movement.occurred_at),
    store_number: p.movement.store_number,
    item_number: p.movement.item_number,
    quantity: p.movement.quantity,
    reason: p.reason,
    attempts: p.attempts,
    attempted_at: p.attemptedAt,
    first_seen_at: new Date(p.firstSeenAt),
    next_attempt_at: new Date(p.nextAttemptAt),
    source_file: p.sourceFile,
    source_line: p.sourceLine,
    topic: p.topic,
    partition: p.partition,
    offset: p.offset,
  })
  // A new parked row is a plain insert: its id was claimed by this transaction, so a clash is a bug, never
  // a second sale silently overwriting the first.
  for (const rows of chunks(changes.parkedNew.map(parkedRow))) await tx`insert into parked_sales ${tx(rows)}`
  // A retried row keeps its first_seen_at and provenance; only the retry state moves.
  for (const rows of chunks(changes.parkedUpdated.map(parkedRow))) {
    await tx`
      insert into parked_sales ${tx(rows)}
      on conflict (transaction_id) do update set reason = excluded.reason, attempts = excluded.attempts,
        attempted_at = excluded.attempted_at, next_attempt_at = excluded.next_attempt_at`
  }
  if (changes.failed.length > 0) {
    const rows = changes.failed.map((f) => ({
      transaction_id: f.movement.transaction_id,
      event_type: f.movement.event_type,
      occurred_at: new Date(f.movement.occurred_at),
      store_number: f.movement.store_number,
      item_number: f.movement.item_number,
      quantity: f.movement.quantity,
      code: f.code,
      error_id: f.errorId,
      attempts: f.attempts,
      attempted_at: f.attemptedAt,
      source_file: f.sourceFile,
      source_line: f.sourceLine,
      to_store_number: f.movement.to_store_number ?? null,
      reverses: f.movement.reverses ?? null,
      source_digest: f.sourceDigest ?? null,
    }))
    for (const chunk of chunks(rows)) {
      await tx`
        insert into failed_movements ${tx(chunk)}
        on conflict (transaction_id) do update set code = excluded.code, error_id = excluded.error_id,
          attempts = excluded.attempts, attempted_at = excluded.attempted_at, failed_at = now(), redriven_at = null`
    }
  }
  await writeOutbox(tx, changes.outbox)
}

export async function writeOutbox(tx: Tx, outbox: Changes['outbox']): Promise<void> {
  if (outbox.length === 0) return
  const rows = outbox.map((o) => ({
    topic: o.topic,
    message_key: o.key,
    schema_name: o.schema,
    payload: tx.json(o.payload as never),
  }))
  for (const chunk of chunks(rows)) await tx`insert into outbox ${tx(chunk)}`
}

export async function bumpCounter(tx: Tx, name: string, by: number): Promise<void> {
  if (by === 0) return
  await tx`
    insert into processor_counters (name, value) values (${name}, ${by})
    on conflict (name) do update set value = processor_counters.value + excluded.value`
}
