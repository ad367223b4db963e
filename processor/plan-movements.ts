// The ledger rules, applied in memory to rows the transaction has locked:
// incoming adds; a sale applies only if stock covers it, else it is parked; stock arriving for a key
// retries that key's parked sales in arrival order; crossings below a threshold emit one LowStock.
import { scheduleDelayMs } from '../lib/retry.ts'
import { type LowStockSeverity, movementKey, type StockMovement } from '../schemas/contract.ts'
import { STOCK_MAX } from '../schemas/movement-rules.ts'
import { errorId, lowStock, messagePosition, stockError } from '../schemas/payloads.ts'
import {
  type Changes,
  emptyChanges,
  type FailCode,
  type Key,
  type Level,
  type OutboxMessage,
  type Parked,
  type ParkReason,
  type Received,
  type RetryPolicy,
} from './ledger-model.ts'

export interface ApplyContext {
  levels: Map<Key, Level>
  /** Parked sales of the keys in play, each list in arrival order. */
  parked: Map<Key, Parked[]>
  now: number
  policy: RetryPolicy
  topics: { errors: string; lowStock: string }
}

function lowStockEvent(
  level: Level,
  m: StockMovement,
  severity: LowStockSeverity,
  ctx: ApplyContext,
): OutboxMessage {
  const payload = lowStock(
    {
      store: level.store,
      item: level.item,
      episode: level.lowEpisode,
      severity,
      quantity: level.quantity,
      threshold: level.threshold,
      cause: m,
    },
    ctx.now,
  )
  return {
    topic: ctx.topics.lowStock,
    key: movementKey(level.store, level.item),
    schema: 'LowStock',
    payload,
  }
}

/**
 * Episode state machine: entering LOW (or straight to OUT_OF_STOCK) starts an episode; reaching zero
 * inside a LOW episode escalates once; only a recovery to the threshold or above re-arms it.
 */
export function evaluateLowStock(
  level: Level,
  m: StockMovement,
  ctx: ApplyContext,
  out: OutboxMessage[],
): void {
  const { quantity, threshold } = level
  if (quantity >= threshold && quantity > 0) {
    if (level.lowState !== 0) {
      level.lowState = 0
      level.dirty = true
    }
    return
  }
  // Only a sale crosses downwards; a first delivery that is below the threshold is not a crossing.
  if (m.event_type !== 'sale') return
  const target: 1 | 2 = quantity === 0 ? 2 : 1
  if (level.lowState === 0) {
    level.lowEpisode++
    level.lowState = target
    level.dirty = true
    out.push(lowStockEvent(level, m, target === 2 ? 'OUT_OF_STOCK' : 'LOW', ctx))
  } else if (level.lowState === 1 && target === 2) {
    level.lowState = 2
    level.dirty = true
    out.push(lowStockEvent(level, m, 'OUT_OF_STOCK', ctx))
  }
}

function levelFor(ctx: ApplyContext, m: StockMovement): Level {
  const key = movementKey(m.store_number, m.item_number)
  const level = ctx.levels.get(key)
  if (!level) throw new Error(`stock level ${key} was not loaded for transaction ${m.transaction_id}`)
  return level
}

function apply(level: Level, r: Received, attempts: number, ctx: ApplyContext, changes: Changes): void {
  const m = r.movement
  level.quantity += m.event_type === 'incoming' ? m.quantity : -m.quantity
  if (level.quantity < 0) throw new Error(`invariant: ${m.transaction_id} would make stock negative`)
  level.known = true
  level.lastTransactionId = m.transaction_id
  level.dirty = true
  changes.applied.push({ ...r, attempts })
  evaluateLowStock(level, m, ctx, changes.outbox)
}

function blocker(level: Level, quantity: number): ParkReason | undefined {
  if (!level.known) return 'UNKNOWN_ITEM'
  return level.quantity < quantity ? 'INSUFFICIENT_STOCK' : undefined
}

/** Retries the parked sales of one key, oldest first, after its stock went up. Not counted as attempts. */
function drainParked(level: Level, ctx: ApplyContext, changes: Changes): void {
  const list = ctx.parked.get(movementKey(level.store, level.item))
  if (!list) return
  for (let i = 0; i < list.length; ) {
    const p = list[i]!
    if (blocker(level, p.movement.quantity) === undefined) {
      list.splice(i, 1)
      // Parked earlier in this same batch: it was never written, so un-park it instead of deleting it.
      const fresh = changes.parkedNew.indexOf(p)
      if (fresh >= 0) changes.parkedNew.splice(fresh, 1)
      else changes.parkedRemoved.push(p.movement.transaction_id)
      apply(level, p, p.attempts, ctx, changes)
    } else i++
  }
}

/** Applies newly received movements (duplicates already removed), in offset order. */
export function applyMovements(received: Received[], ctx: ApplyContext): Changes {
  const changes = emptyChanges()
  for (const r of received) {
    const level = levelFor(ctx, r.movement)
    if (r.movement.event_type === 'incoming') {
      if (level.quantity + r.movement.quantity > STOCK_MAX) {
        const what = `incoming of ${r.movement.quantity} would take stock past ${STOCK_MAX}; refused`
        giveUp(
          { ...r, attempts: 1, attemptedAt: [ctx.now], firstSeenAt: ctx.now },
          'STOCK_LIMIT',
          what,
          ctx,
          changes,
        )
        continue
      }
      apply(level, r, 1, ctx, changes)
      drainParked(level, ctx, changes)
      continue
    }
    const reason = blocker(level, r.movement.quantity)
    if (reason === undefined) {
      apply(level, r, 1, ctx, changes)
      continue
    }
    const parked: Parked = {
      ...r,
      reason,
      attempts: 1,
      attemptedAt: [ctx.now],
      firstSeenAt: ctx.now,
      nextAttemptAt: ctx.now + scheduleDelayMs(ctx.policy.scheduleMs, 1),
    }
    if (ctx.policy.maxAttempts <= 1) {
      giveUpSale(parked, ctx, changes, false)
      continue
    }
    changes.parkedNew.push(parked)
    const key = movementKey(r.movement.store_number, r.movement.item_number)
    const list = ctx.parked.get(key)
    if (list) list.push(parked)
    else ctx.parked.set(key, [parked])
  }
  return changes
}

/** Ends a movement in failed_movements and on `errors`: a sale out of attempts, or an incoming past STOCK_MAX. */
function giveUp(
  p: Received & { attempts: number; attemptedAt: number[]; firstSeenAt: number },
  code: FailCode,
  what: string,
  ctx: ApplyContext,
  changes: Changes,
): void {
  const m = p.movement
  // first_seen_at makes a re-driven sale that fails again a new error, not a duplicate of the first.
  const id = errorId('process', code, m.transaction_id, p.firstSeenAt)
  changes.failed.push({ ...p, code, errorId: id, attempts: p.attempts, attemptedAt: p.attemptedAt })
  const payload = stockError(
    {
      error_id: id,
      stage: 'process',
      code,
      message: what,
      source_file: p.sourceFile,
      source_line: p.sourceLine,
      movement: m,
      ...messagePosition(p.topic, p.partition, p.offset),
      attempts: p.attempts,
      attempted_at: p.attemptedAt,
      first_seen_at: p.firstSeenAt,
    },
    ctx.now,
  )
  changes.outbox.push({
    topic: ctx.topics.errors,
    key: movementKey(m.store_number, m.item_number),
    schema: 'StockError',
    payload,
  })
}

function giveUpSale(p: Parked, ctx: ApplyContext, changes: Changes, wasStored: boolean): void {
  const m = p.movement
  if (wasStored) changes.parkedRemoved.push(m.transaction_id)
  const why =
    p.reason === 'UNKNOWN_ITEM'
      ? `item ${movementKey(m.store_number, m.item_number)} has never had stock`
      : 'not enough stock'
  giveUp(
    p,
    p.reason,
    `sale of ${m.quantity} could not be applied after ${p.attempts} attempt(s): ${why}`,
    ctx,
    changes,
  )
}

/**
 * A scheduled retry of due parked sales (already locked with their levels). Each failed try counts
 * as an attempt; past the limit or the park timeout the sale goes to `errors`.
 */
export function retryParked(due: Parked[], ctx: ApplyContext): Changes {
  const changes = emptyChanges()
  for (const p of due) {
    const level = levelFor(ctx, p.movement)
    const attempts = p.attempts + 1
    const reason = blocker(level, p.movement.quantity)
    if (reason === undefined) {
      changes.parkedRemoved.push(p.movement.transaction_id)
      apply(level, p, attempts, ctx, changes)
      continue
    }
    const next: Parked = {
      ...p,
      reason,
      attempts,
      attemptedAt: [...p.attemptedAt, ctx.now],
      nextAttemptAt: ctx.now + scheduleDelayMs(ctx.policy.scheduleMs, attempts),
    }
    if (attempts >= ctx.policy.maxAttempts || ctx.now - p.firstSeenAt >= ctx.policy.parkTimeoutMs) {
      giveUpSale(next, ctx, changes, true)
    } else {
      changes.parkedUpdated.push(next)
    }
  }
  return changes
}
