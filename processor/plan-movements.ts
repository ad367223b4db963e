// The ledger rules, applied in memory to rows the transaction has locked. What a movement does is decided
// in plan-effects.ts; here it is applied, parked or given up: a movement stock does not cover is parked;
// stock arriving for a key retries that key's parked movements in arrival order; a fall below a threshold
// emits one LowStock.
import { scheduleDelayMs } from '../lib/retry.ts'
import { type LowStockSeverity, movementKey, type StockMovement } from '../schemas/contract.ts'
import { errorId, lowStock, messagePosition, stockError } from '../schemas/payloads.ts'
import {
  type Changes,
  emptyChanges,
  type FailCode,
  type Key,
  type Level,
  type OutboxMessage,
  type Parked,
  type Received,
  type RetryPolicy,
} from './ledger-model.ts'
import { type Change, type Effect, type EffectContext, effectOf } from './plan-effects.ts'

export interface ApplyContext extends EffectContext {
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
  decreased: boolean,
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
  // Only a decrease crosses downwards (a sale, a count, a transfer out, a reversal); a first delivery
  // that is below the threshold is not a crossing.
  if (!decreased) return
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

/** Applies `changes` for `r`, remembers it as an original if a reversal may ask, and checks low stock. */
function apply(
  r: Received,
  changes: Change[],
  attempts: number,
  ctx: ApplyContext,
  out: Changes,
  raised: Key[],
): void {
  const m = r.movement
  for (const c of changes) {
    c.level.quantity += c.delta
    if (c.level.quantity < 0) throw new Error(`invariant: ${m.transaction_id} would make stock negative`)
    c.level.known = true
    c.level.lastTransactionId = m.transaction_id
    c.level.dirty = true
  }
  const [own, other] = changes as [Change, Change | undefined]
  out.applied.push({
    ...r,
    attempts,
    delta: own.delta,
    quantityAfter: own.level.quantity,
    second: other && { store: other.level.store, delta: other.delta, quantityAfter: other.level.quantity },
  })
  if (ctx.originals) {
    ctx.originals.set(m.transaction_id, {
      movement: m,
      legs: changes.map((c) => ({ store: c.level.store, delta: c.delta })),
    })
  }
  if (m.event_type === 'reversal') ctx.reversedBy?.set(m.reverses!, m.transaction_id)
  for (const c of changes) {
    evaluateLowStock(c.level, m, c.delta < 0, ctx, out.outbox)
    if (c.delta > 0) raised.push(movementKey(c.level.store, c.level.item))
  }
  // A reversal waiting for this movement may now apply: its key is worth another look.
  if (ctx.reversedBy && m.event_type !== 'reversal') raised.push(movementKey(m.store_number, m.item_number))
}

/** Takes a parked movement out of the lot: un-parked if it was parked in this same plan, else deleted. */
function unpark(p: Parked, ctx: ApplyContext, changes: Changes): void {
  const list = ctx.parked.get(movementKey(p.movement.store_number, p.movement.item_number))
  const at = list?.indexOf(p) ?? -1
  if (at >= 0) list!.splice(at, 1)
  const fresh = changes.parkedNew.indexOf(p)
  if (fresh >= 0) changes.parkedNew.splice(fresh, 1)
  else changes.parkedRemoved.push(p.movement.transaction_id)
  // A retry pass may have rescheduled it before a later movement released it: the delete must be the last
  // word, or the rescheduled row would be written back after it was applied.
  const id = p.movement.transaction_id
  const updated = changes.parkedUpdated.findIndex((u) => u.movement.transaction_id === id)
  if (updated >= 0) changes.parkedUpdated.splice(updated, 1)
}

/** A reversal of a movement still parked: the original leaves the lot as WITHDRAWN and is never applied. */
function withdraw(p: Parked, by: Received, ctx: ApplyContext, changes: Changes): void {
  unpark(p, ctx, changes)
  // A withdrawn reversal cancels nothing: its original may be reversed by another.
  const m = p.movement
  if (m.event_type === 'reversal' && ctx.reversedBy?.get(m.reverses!) === m.transaction_id)
    ctx.reversedBy.delete(m.reverses!)
  changes.failed.push({
    ...p,
    code: 'WITHDRAWN',
    // No error is published for it: withdrawing is what the reversal asked for, not a failure to alert on.
    errorId: errorId('process', 'WITHDRAWN', p.movement.transaction_id, by.movement.transaction_id),
  })
}

/** Decides `r`'s effect and applies it when it applies; the effect tells the caller what else to do. */
function act(r: Received, attempts: number, ctx: ApplyContext, changes: Changes, raised: Key[]): Effect {
  const effect = effectOf(r, ctx)
  if (effect.kind !== 'apply') return effect
  if (effect.withdraw) withdraw(effect.withdraw, r, ctx, changes)
  apply(r, effect.changes, attempts, ctx, changes, raised)
  return effect
}

/**
 * Retries the parked movements of keys whose stock went up (or whose reversals' originals arrived), each
 * key's oldest first, until nothing more applies. Not counted as attempts.
 */
function drainParked(raised: Key[], ctx: ApplyContext, changes: Changes): void {
  for (let k = 0; k < raised.length; k++) {
    const list = ctx.parked.get(raised[k]!)
    if (!list) continue
    for (let i = 0; i < list.length; ) {
      const p = list[i]!
      const before = list.length
      const effect = effectOf(p, ctx)
      if (effect.kind !== 'apply') {
        i++
        continue
      }
      unpark(p, ctx, changes)
      if (effect.withdraw) withdraw(effect.withdraw, p, ctx, changes)
      apply(p, effect.changes, p.attempts, ctx, changes, raised)
      // Everything removed from this list sat at or after i; what stays there is next.
      if (list.length >= before) i++
    }
  }
}

/** Parks a movement that cannot apply yet, or gives it up when the policy allows a single attempt. */
function park(r: Received, reason: Parked['reason'], ctx: ApplyContext, changes: Changes): void {
  const parked: Parked = {
    ...r,
    reason,
    attempts: 1,
    attemptedAt: [ctx.now],
    firstSeenAt: ctx.now,
    nextAttemptAt: ctx.now + scheduleDelayMs(ctx.policy.scheduleMs, 1),
  }
  if (ctx.policy.maxAttempts <= 1) {
    giveUpParked(parked, ctx, changes, false)
    return
  }
  changes.parkedNew.push(parked)
  if (r.movement.event_type === 'reversal')
    ctx.reversedBy?.set(r.movement.reverses!, r.movement.transaction_id)
  const key = movementKey(r.movement.store_number, r.movement.item_number)
  const list = ctx.parked.get(key)
  if (list) list.push(parked)
  else ctx.parked.set(key, [parked])
}

const firstTry = (r: Received, ctx: ApplyContext) => ({
  ...r,
  attempts: 1,
  attemptedAt: [ctx.now],
  firstSeenAt: ctx.now,
})

/** Applies newly received movements (duplicates already removed), in offset order. */
export function applyMovements(received: Received[], ctx: ApplyContext): Changes {
  const changes = emptyChanges()
  const raised: Key[] = []
  for (const r of received) {
    const effect = act(r, 1, ctx, changes, raised)
    if (effect.kind === 'park' || effect.kind === 'defer') {
      park(r, effect.kind === 'park' ? effect.reason : 'INSUFFICIENT_STOCK', ctx, changes)
    } else if (effect.kind === 'fail') {
      giveUp(firstTry(r, ctx), effect.code, effect.message, ctx, changes)
    }
    if (raised.length > 0) {
      drainParked(raised, ctx, changes)
      raised.length = 0
    }
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

function giveUpParked(p: Parked, ctx: ApplyContext, changes: Changes, wasStored: boolean): void {
  const m = p.movement
  if (wasStored) changes.parkedRemoved.push(m.transaction_id)
  const why =
    p.reason === 'UNKNOWN_ITEM'
      ? `item ${movementKey(m.store_number, m.item_number)} has never had stock`
      : p.reason === 'UNKNOWN_ORIGINAL'
        ? `the movement it reverses, ${m.reverses}, was never applied`
        : 'not enough stock'
  giveUp(
    p,
    p.reason,
    `${m.event_type} of ${m.quantity} could not be applied after ${p.attempts} attempt(s): ${why}`,
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
  const raised: Key[] = []
  const removed = new Set<string>()
  let seen = 0
  for (const p of due) {
    for (; seen < changes.parkedRemoved.length; seen++) removed.add(changes.parkedRemoved[seen]!)
    // Applied by a drain, or withdrawn by a reversal, earlier in this pass: no longer parked.
    if (removed.has(p.movement.transaction_id)) continue
    const attempts = p.attempts + 1
    const effect = effectOf(p, ctx)
    if (effect.kind === 'apply') {
      unpark(p, ctx, changes)
      if (effect.withdraw) withdraw(effect.withdraw, p, ctx, changes)
      apply(p, effect.changes, attempts, ctx, changes, raised)
      drainParked(raised, ctx, changes)
      raised.length = 0
      continue
    }
    if (effect.kind === 'fail') {
      unpark(p, ctx, changes)
      giveUp(
        { ...p, attempts, attemptedAt: [...p.attemptedAt, ctx.now] },
        effect.code,
        effect.message,
        ctx,
        changes,
      )
      continue
    }
    const next: Parked = {
      ...p,
      // A decision this pass could not make (it holds too little) still counts, so nothing waits for ever.
      reason: effect.kind === 'park' ? effect.reason : p.reason,
      attempts,
      attemptedAt: [...p.attemptedAt, ctx.now],
      nextAttemptAt: ctx.now + scheduleDelayMs(ctx.policy.scheduleMs, attempts),
    }
    if (attempts >= ctx.policy.maxAttempts || ctx.now - p.firstSeenAt >= ctx.policy.parkTimeoutMs) {
      unpark(p, ctx, changes)
      // unpark recorded the removal already; giveUpParked must not record it twice.
      giveUpParked(next, ctx, changes, false)
    } else {
      changes.parkedUpdated.push(next)
    }
  }
  return changes
}
