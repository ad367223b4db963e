// What one movement would do to the ledger, decided from the rows the transaction holds: which stores
// change and by how much, or why it must wait, or why it can never apply. Pure; plan-movements.ts acts on it.
import { movementKey } from '../schemas/contract.ts'
import { STOCK_MAX } from '../schemas/movement-rules.ts'
import type { FailCode, Key, Level, Original, Parked, ParkReason, Received } from './ledger-model.ts'

export interface EffectContext {
  levels: Map<Key, Level>
  parked: Map<Key, Parked[]>
  /**
   * The originals of the reversals in play: journal rows, and movements this plan applied. An id that is
   * absent was not looked up; null means it was, and the journal does not have it.
   */
  originals?: Map<string, Original | null>
  /** The reversal that cancels an original, applied or parked, by the original's id. */
  reversedBy?: Map<string, string>
}

/** One store's change: `level` moves by `delta`. */
export interface Change {
  level: Level
  delta: number
}

export type Effect =
  | { kind: 'apply'; changes: Change[]; withdraw?: Parked }
  | { kind: 'park'; reason: ParkReason }
  | { kind: 'fail'; code: FailCode; message: string }
  /** This transaction does not hold what the decision needs (a level or an original): leave it for the retry. */
  | { kind: 'defer' }

const levelOf = (ctx: EffectContext, store: number, item: number) => ctx.levels.get(movementKey(store, item))

/** Why stock cannot give `quantity` up: never had any, or not enough. */
export function blocker(level: Level, quantity: number): ParkReason | undefined {
  if (!level.known) return 'UNKNOWN_ITEM'
  return level.quantity < quantity ? 'INSUFFICIENT_STOCK' : undefined
}

const pastLimit = (c: Change) => c.delta > 0 && c.level.quantity + c.delta > STOCK_MAX

function limitFailure(changes: Change[], what: string): Effect | undefined {
  const over = changes.find(pastLimit)
  if (!over) return undefined
  return {
    kind: 'fail',
    code: 'STOCK_LIMIT',
    message: `${what} would take stock of ${movementKey(over.level.store, over.level.item)} past ${STOCK_MAX}; refused`,
  }
}

/** The effect of `r` on the levels in `ctx`. */
export function effectOf(r: Received, ctx: EffectContext): Effect {
  const m = r.movement
  const own = levelOf(ctx, m.store_number, m.item_number)
  if (!own) return { kind: 'defer' }
  switch (m.event_type) {
    case 'incoming': {
      const changes = [{ level: own, delta: m.quantity }]
      return limitFailure(changes, `incoming of ${m.quantity}`) ?? { kind: 'apply', changes }
    }
    case 'sale': {
      const reason = blocker(own, m.quantity)
      return reason
        ? { kind: 'park', reason }
        : { kind: 'apply', changes: [{ level: own, delta: -m.quantity }] }
    }
    case 'adjustment':
      // A count sets the quantity: the change is whatever brings it there, and 0 is still a count.
      return { kind: 'apply', changes: [{ level: own, delta: m.quantity - own.quantity }] }
    case 'transfer': {
      const to = levelOf(ctx, m.to_store_number!, m.item_number)
      if (!to) return { kind: 'defer' }
      const reason = blocker(own, m.quantity)
      if (reason) return { kind: 'park', reason }
      const changes = [
        { level: own, delta: -m.quantity },
        { level: to, delta: m.quantity },
      ]
      return limitFailure(changes, `transfer of ${m.quantity}`) ?? { kind: 'apply', changes }
    }
    case 'reversal':
      return reversalEffect(r, own, ctx)
  }
}

function reversalEffect(r: Received, own: Level, ctx: EffectContext): Effect {
  const m = r.movement
  const target = m.reverses!
  const by = ctx.reversedBy?.get(target)
  if (by !== undefined && by !== m.transaction_id) {
    return {
      kind: 'fail',
      code: 'ALREADY_REVERSED',
      message: `transaction ${target} is already reversed by ${by}; this reversal is not applied`,
    }
  }
  // The original still waits in the parking lot: withdrawn, it is never applied, and there is nothing to undo.
  const waiting = ctx.parked.get(movementKey(m.store_number, m.item_number))
  const parkedOriginal = waiting?.find((p) => p.movement.transaction_id === target)
  if (parkedOriginal) {
    // Even a parked reversal may be withdrawn: it was never applied, so this reverses nothing.
    const mismatch = mismatchOf(r, parkedOriginal.movement)
    if (mismatch) return mismatch
    return { kind: 'apply', changes: [{ level: own, delta: 0 }], withdraw: parkedOriginal }
  }
  const original = ctx.originals?.get(target)
  if (original === undefined) return { kind: 'defer' }
  if (original === null) return { kind: 'park', reason: 'UNKNOWN_ORIGINAL' }
  if (original.movement.event_type === 'reversal') return reversalOfReversal(target)
  const mismatch = mismatchOf(r, original.movement)
  if (mismatch) return mismatch
  const changes: Change[] = []
  for (const leg of original.legs) {
    const level = levelOf(ctx, leg.store, m.item_number)
    if (!level) return { kind: 'defer' }
    changes.push({ level, delta: -leg.delta })
  }
  for (const c of changes) {
    if (c.delta >= 0) continue
    const reason = blocker(c.level, -c.delta)
    // The stock the original brought has moved on (sold, transferred): the reversal waits for it like a sale.
    if (reason) return { kind: 'park', reason: 'INSUFFICIENT_STOCK' }
  }
  return limitFailure(changes, `reversal of ${target}`) ?? { kind: 'apply', changes }
}

const reversalOfReversal = (target: string): Effect => ({
  kind: 'fail',
  code: 'REVERSAL_OF_REVERSAL',
  message: `transaction ${target} is itself a reversal, and a reversal cannot be reversed; record the movement again under a new transaction_id`,
})

/** A reversal carries its original's store, item and quantity; one that does not is not what it claims. */
function mismatchOf(r: Received, original: Received['movement'] | Original['movement']): Effect | undefined {
  const m = r.movement
  if (
    original.store_number === m.store_number &&
    original.item_number === m.item_number &&
    original.quantity === m.quantity
  )
    return undefined
  return {
    kind: 'fail',
    code: 'REVERSAL_MISMATCH',
    message:
      `reversal ${m.transaction_id} names ${m.quantity} at ${movementKey(m.store_number, m.item_number)}, but ` +
      `${original.transaction_id} was ${original.event_type} of ${original.quantity} at ` +
      `${movementKey(original.store_number, original.item_number)}; not applied`,
  }
}
