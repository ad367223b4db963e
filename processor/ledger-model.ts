// The processor's in-memory view of one transaction's rows, and the changes it produces.
// Pure data: the SQL side (ledger-store.ts) loads and writes these; the rules (plan-movements.ts) change them.
import {
  type EventType,
  type LowStock,
  movementKey,
  type StockError,
  type StockMovement,
} from '../schemas/contract.ts'

/** A `store:item` key: the contract's message key, which is also how the ledger groups rows in memory. */
export type Key = string

export interface StoreItem {
  store: number
  item: number
}

/**
 * The distinct items, in the one order every transaction locks stock rows in: (store, item). Two
 * transactions touching overlapping items always lock in the same order, so they cannot deadlock.
 */
export function lockOrder(items: Iterable<StoreItem>): StoreItem[] {
  const seen = new Map<Key, StoreItem>()
  for (const i of items)
    if (!seen.has(movementKey(i.store, i.item))) seen.set(movementKey(i.store, i.item), i)
  return [...seen.values()].sort((a, b) => a.store - b.store || a.item - b.item)
}

/** A movement as received: the decoded value plus where it came from. */
export interface Received {
  movement: StockMovement & { event_type: EventType }
  sourceFile: string | null
  /**
   * The file the movement came from: the first 64 bits of its sha256 (the importer's header), as decimal
   * text for a bigint column. What `stockflow revert` selects an import's movements by.
   */
  sourceDigest?: string | null
  sourceLine: number | null
  topic: string
  partition: number
  offset: number
  /** Sent again by `stockflow redrive`: a failed movement with this flag is tried afresh. */
  redrive?: boolean
}

export interface Level {
  store: number
  item: number
  quantity: number
  /** False until a movement was ever applied: a sale against it is UNKNOWN_ITEM. */
  known: boolean
  lowState: 0 | 1 | 2
  lowEpisode: number
  threshold: number
  lastTransactionId: string | null
  dirty: boolean
}

/** Why a movement waits: its stock is not there yet, or (a reversal) its original has not been applied yet. */
export type ParkReason = 'INSUFFICIENT_STOCK' | 'UNKNOWN_ITEM' | 'UNKNOWN_ORIGINAL'
/**
 * Why a movement ended in failed_movements: given up on after its attempts, past STOCK_MAX, a reversal
 * refused at once (it can never apply), or an original withdrawn by its reversal before it was applied.
 */
export type FailCode =
  | ParkReason
  | 'STOCK_LIMIT'
  | 'ALREADY_REVERSED'
  | 'REVERSAL_MISMATCH'
  | 'REVERSAL_OF_REVERSAL'
  | 'WITHDRAWN'

export interface Parked extends Received {
  reason: ParkReason
  attempts: number
  attemptedAt: number[]
  firstSeenAt: number
  nextAttemptAt: number
}

/** One store's side of an applied movement: how much it changed and what it left. */
export interface Leg {
  store: number
  delta: number
  quantityAfter: number
}

export interface Applied extends Received {
  attempts: number
  /** The change at the movement's own store (journal leg 1). */
  delta: number
  quantityAfter: number
  /** A transfer's destination, or the other store of a reversed transfer (journal leg 2). */
  second?: Leg
}

/** An applied movement as a reversal needs it: its payload and what it did to each store. */
export interface Original {
  movement: StockMovement
  legs: { store: number; delta: number }[]
}

export interface Failed extends Received {
  code: FailCode
  errorId: string
  attempts: number
  attemptedAt: number[]
}

export interface OutboxMessage {
  topic: string
  key: string | null
  schema: 'StockError' | 'LowStock'
  payload: StockError | LowStock
}

export interface RetryPolicy {
  scheduleMs: readonly number[]
  maxAttempts: number
  parkTimeoutMs: number
}

/** A message that never became a movement (undecodable, invalid, or refused by Postgres), kept for psql. */
export interface RejectedMessage {
  topic: string
  partition: number
  offset: number
  code: string
  reason: string
  errorId: string
}

/** Where a known transaction id already is. */
export interface StoredMovement {
  movement: StockMovement
  /** 'withdrawn': failed as WITHDRAWN, cancelled by its reversal; never brought back, not even by a re-drive. */
  where: 'journal' | 'parked' | 'failed' | 'withdrawn'
}

/** Everything one transaction writes. */
export interface Changes {
  applied: Applied[]
  parkedNew: Parked[]
  parkedUpdated: Parked[]
  parkedRemoved: string[]
  failed: Failed[]
  /** Failed movements that a re-drive brought back into play. */
  unfailed: string[]
  outbox: OutboxMessage[]
}

export function emptyChanges(): Changes {
  return {
    applied: [],
    parkedNew: [],
    parkedUpdated: [],
    parkedRemoved: [],
    failed: [],
    unfailed: [],
    outbox: [],
  }
}

/** True when two deliveries of one transaction id carry the same movement. */
export function samePayload(a: StockMovement, b: StockMovement): boolean {
  return (
    a.event_type === b.event_type &&
    a.occurred_at === b.occurred_at &&
    a.store_number === b.store_number &&
    a.item_number === b.item_number &&
    a.quantity === b.quantity &&
    (a.to_store_number ?? null) === (b.to_store_number ?? null) &&
    (a.reverses ?? null) === (b.reverses ?? null)
  )
}
