// The batch's decisions, as pure functions: which messages the ledger already has (the fence), which
// never became movements, and which movements are new, repeats, conflicts or re-drives. batch-transaction.ts
// loads what these need, calls them, and writes what they return.
import { createHash } from 'node:crypto'
import { DbError } from '../lib/errors.ts'
import { movementKey, type StockMovement } from '../schemas/contract.ts'
import { errorId, messagePosition, stockError } from '../schemas/payloads.ts'
import {
  type Original,
  type OutboxMessage,
  type Received,
  type RejectedMessage,
  type StoredMovement,
  type StoreItem,
  samePayload,
} from './ledger-model.ts'

/** One message of the batch after decoding and validation. */
export type Intake =
  | { kind: 'movement'; offset: number; received: Received }
  | {
      kind: 'rejected'
      offset: number
      key: string | null
      value: Buffer | null
      code: 'UNDECODABLE' | 'INVALID_MOVEMENT'
      reason: string
    }

export interface PlanContext {
  topic: string
  partition: number
  now: number
  topics: { errors: string; lowStock: string }
}

export interface Triage {
  /** Messages below the stored offset: a redelivery the ledger has already applied. */
  skipped: number
  /** Decoded, valid movements at or past the stored offset, in offset order. */
  candidates: Received[]
  rejected: RejectedMessage[]
  outbox: OutboxMessage[]
}

/** The bytes of a rejected message kept on `errors`: enough to identify it, far below any message size limit. */
export const MAX_RAW_BYTES = 4 * 1024

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** Control characters cannot be stored in jsonb or text everywhere; anything quoted from input is made printable. */
export function printable(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing them is the point
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** A message that will never be a movement: one error on `errors`, one row for psql, and the partition moves on. */
export function rejectMessage(
  ctx: PlanContext,
  m: { offset: number; key: string | null; value: Buffer | null; code: string; reason: string },
): { row: RejectedMessage; error: OutboxMessage } {
  const id = errorId(m.code, ctx.topic, ctx.partition, m.offset)
  const reason = printable(m.reason)
  const payload = stockError(
    {
      error_id: id,
      stage: 'process',
      code: m.code,
      message:
        m.value && m.value.length > MAX_RAW_BYTES
          ? `${reason} (value of ${m.value.length} bytes, sha256 ${sha256(m.value)}; the first ${MAX_RAW_BYTES} are kept)`
          : reason,
      raw_value_base64: m.value ? m.value.subarray(0, MAX_RAW_BYTES).toString('base64') : null,
      ...messagePosition(ctx.topic, ctx.partition, m.offset),
      attempts: 1,
      attempted_at: [ctx.now],
    },
    ctx.now,
  )
  return {
    row: { topic: ctx.topic, partition: ctx.partition, offset: m.offset, code: m.code, reason, errorId: id },
    error: {
      topic: ctx.topics.errors,
      key: m.key === null ? null : printable(m.key),
      schema: 'StockError',
      payload,
    },
  }
}

/** The fence and the sorting: what the ledger has seen is skipped, what is not a movement is rejected. */
export function triage(intake: Intake[], stored: number | undefined, ctx: PlanContext): Triage {
  const out: Triage = { skipped: 0, candidates: [], rejected: [], outbox: [] }
  for (const m of intake) {
    // Offsets may have gaps (transaction markers, compaction); only "already applied" is decided here.
    if (stored !== undefined && m.offset < stored) {
      out.skipped++
      continue
    }
    if (m.kind === 'movement') {
      out.candidates.push(m.received)
      continue
    }
    const { row, error } = rejectMessage(ctx, m)
    out.rejected.push(row)
    out.outbox.push(error)
  }
  return out
}

/**
 * The ids this batch tries to claim: each candidate's id once. The claim statement inserts them in uuid
 * order, so concurrent claimers cannot deadlock; sorting the strings here as well cost measurable CPU
 * (README, "Where the CPU went").
 */
export function idsToClaim(candidates: Received[]): string[] {
  const ids = new Set<string>()
  for (const r of candidates) ids.add(r.movement.transaction_id)
  return [...ids]
}

export interface Conflict {
  received: Received
  first: StockMovement
}

export interface Classified {
  fresh: Received[]
  duplicates: number
  conflicts: Conflict[]
  /** Failed movements a re-drive brings back into play. */
  unfailed: string[]
}

/**
 * Sorts candidates by what the ledger knows of their ids. `claimed` are the ids this transaction
 * claimed just now (nobody had them); `existing` says where every other id already is.
 * Within the batch the first occurrence of an id stands, exactly as across batches.
 */
export function classify(
  candidates: Received[],
  claimed: ReadonlySet<string>,
  existing: ReadonlyMap<string, StoredMovement>,
): Classified {
  const out: Classified = { fresh: [], duplicates: 0, conflicts: [], unfailed: [] }
  const earlier = new Map<string, StockMovement>()
  for (const r of candidates) {
    const id = r.movement.transaction_id
    const first = earlier.get(id)
    if (first) {
      if (samePayload(first, r.movement)) out.duplicates++
      else out.conflicts.push({ received: r, first })
      continue
    }
    earlier.set(id, r.movement)
    if (claimed.has(id)) {
      out.fresh.push(r)
      continue
    }
    const prior = existing.get(id)
    if (!prior) {
      // The claim insert waited for any transaction claiming the id, so a claim whose movement is in no
      // table means the ledger was edited by hand. Refused like bad data: this message goes to errors.
      throw new DbError(
        'DB_CONSTRAINT',
        `transaction ${id} is claimed but recorded nowhere; the ledger was edited`,
        {
          context: { transactionId: id },
        },
      )
    }
    if (prior.where === 'failed' && r.redrive && samePayload(prior.movement, r.movement)) {
      out.unfailed.push(id)
      out.fresh.push(r)
    } else if (samePayload(prior.movement, r.movement)) out.duplicates++
    else out.conflicts.push({ received: r, first: prior.movement })
  }
  return out
}

/** The fingerprint of a conflicting payload: the same conflict seen again is recorded and reported once. */
export function conflictSha(m: StockMovement): string {
  return createHash('sha256').update(JSON.stringify(m)).digest('hex')
}

export function conflictError(c: Conflict, sha: string, ctx: PlanContext): OutboxMessage {
  const m = c.received.movement
  const payload = stockError(
    {
      error_id: errorId('TRANSACTION_CONFLICT', m.transaction_id, sha),
      stage: 'process',
      code: 'TRANSACTION_CONFLICT',
      message:
        `transaction ${m.transaction_id} was already recorded with a different payload ` +
        `(${describe(c.first)}; this one: ${describe(m)}); the first one stands`,
      movement: m,
      source_file: c.received.sourceFile,
      source_line: c.received.sourceLine,
      ...messagePosition(c.received.topic, c.received.partition, c.received.offset),
      attempts: 1,
      attempted_at: [ctx.now],
    },
    ctx.now,
  )
  return {
    topic: ctx.topics.errors,
    key: movementKey(m.store_number, m.item_number),
    schema: 'StockError',
    payload,
  }
}

function describe(m: StockMovement): string {
  return `${m.event_type} of ${m.quantity} at ${m.store_number}:${m.item_number}`
}

/** The originals a batch's reversals name, to be looked up before anything is locked. */
export function reversalTargets(movements: Iterable<Received>): string[] {
  const ids = new Set<string>()
  for (const r of movements) if (r.movement.event_type === 'reversal') ids.add(r.movement.reverses!)
  return [...ids]
}

/**
 * Every item a batch may change: each movement's own, a transfer's destination, and the stores of a
 * reversed original (a reversed transfer changes both of its stores).
 */
export function itemsTouched(
  movements: Received[],
  originals: ReadonlyMap<string, Original | null> | undefined,
): StoreItem[] {
  const out: StoreItem[] = []
  for (const { movement: m } of movements) {
    out.push({ store: m.store_number, item: m.item_number })
    if (m.event_type === 'transfer') out.push({ store: m.to_store_number!, item: m.item_number })
    if (m.event_type !== 'reversal') continue
    for (const leg of originals?.get(m.reverses!)?.legs ?? [])
      out.push({ store: leg.store, item: m.item_number })
  }
  return out
}

/**
 * The items whose parked movements a batch may release: those it gives stock to or corrects. A batch of
 * sales alone releases nothing, and skips the parking lot altogether.
 */
export function itemsReleasing(movements: Received[]): StoreItem[] {
  const out: StoreItem[] = []
  for (const { movement: m } of movements) {
    if (m.event_type === 'sale') continue
    out.push({ store: m.store_number, item: m.item_number })
    if (m.event_type === 'transfer') out.push({ store: m.to_store_number!, item: m.item_number })
  }
  return out
}

/** The items parked transfers and reversals reach beyond their own: a destination, a reversed original's stores. */
export function itemsReached(
  parked: { item: number; toStore: number | null; reverses: string | null }[],
  originals: ReadonlyMap<string, Original | null> | undefined,
): StoreItem[] {
  const out: StoreItem[] = []
  for (const p of parked) {
    if (p.toStore !== null) out.push({ store: p.toStore, item: p.item })
    for (const leg of originals?.get(p.reverses ?? '')?.legs ?? [])
      out.push({ store: leg.store, item: p.item })
  }
  return out
}

/**
 * The first 64 bits of a sha256 in hex, as a signed bigint in decimal text: what `('x' || left(sha, 16))::bit(64)::bigint`
 * gives in Postgres. Anything but a sha256 is no file's.
 */
export function fileDigest(sha: string | null): string | null {
  if (sha === null || !/^[0-9a-f]{64}$/i.test(sha)) return null
  return BigInt.asIntN(64, BigInt(`0x${sha.slice(0, 16)}`)).toString()
}
