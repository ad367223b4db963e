import { describe, expect, it } from 'vitest'
import type { EventType } from '../schemas/contract.ts'
import type { Changes, Level, Original, Parked, Received } from './ledger-model.ts'
import { type ApplyContext, applyMovements, retryParked } from './plan-movements.ts'

const policy = { scheduleMs: [100, 1000], maxAttempts: 3, parkTimeoutMs: 60_000 }
const topics = { errors: 'errors', lowStock: 'low-stock' }
let n = 0
const id = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`

function rec(
  type: EventType,
  quantity: number,
  more: { store?: number; to?: number; reverses?: string; item?: number } = {},
): Received {
  return {
    movement: {
      transaction_id: id(),
      event_type: type,
      occurred_at: n,
      store_number: more.store ?? 1,
      item_number: more.item ?? 1,
      quantity,
      to_store_number: more.to ?? null,
      reverses: more.reverses ?? null,
    },
    sourceFile: null,
    sourceLine: null,
    topic: 'events',
    partition: 0,
    offset: n,
  }
}

function level(store: number, quantity: number, known = true): Level {
  return {
    store,
    item: 1,
    quantity,
    known,
    lowState: 0,
    lowEpisode: 0,
    threshold: 3,
    lastTransactionId: null,
    dirty: false,
  }
}

/** A context over stores 1, 2 and 3 of item 1, tracking reversals as the batch transaction does. */
function ledger(q1: number, q2 = 0, q3 = 0): ApplyContext & { originals: Map<string, Original | null> } {
  return {
    levels: new Map([
      ['1:1', level(1, q1, q1 > 0)],
      ['2:1', level(2, q2, q2 > 0)],
      ['3:1', level(3, q3, q3 > 0)],
    ]),
    parked: new Map(),
    now: 1000,
    policy,
    topics,
    originals: new Map(),
    reversedBy: new Map(),
  }
}

const qty = (ctx: ApplyContext, store: number) => ctx.levels.get(`${store}:1`)!.quantity
const journal = (c: Changes) =>
  c.applied.map((a) => [
    a.movement.event_type,
    a.delta,
    a.quantityAfter,
    ...(a.second ? [a.second.store, a.second.delta, a.second.quantityAfter] : []),
  ])
const failed = (c: Changes) => c.failed.map((f) => [f.movement.event_type, f.code])

describe('adjustment', () => {
  it('posts the difference to the counted quantity, down, up, to zero, and records a count that changes nothing', () => {
    const ctx = ledger(10)
    const c = applyMovements(
      [rec('adjustment', 7), rec('adjustment', 12), rec('adjustment', 12), rec('adjustment', 0)],
      ctx,
    )
    expect(journal(c)).toEqual([
      ['adjustment', -3, 7],
      ['adjustment', 5, 12],
      ['adjustment', 0, 12],
      ['adjustment', -12, 0],
    ])
    expect(qty(ctx, 1)).toBe(0)
  })

  it('opens a low-stock episode when a count falls below the threshold, and releases parked sales when it rises', () => {
    const ctx = ledger(10)
    const low = applyMovements([rec('adjustment', 2)], ctx)
    expect(low.outbox.map((o) => (o.payload as { severity: string }).severity)).toEqual(['LOW'])
    const sale = rec('sale', 5)
    expect(applyMovements([sale], ctx).parkedNew).toHaveLength(1)
    const up = applyMovements([rec('adjustment', 9)], ctx)
    expect(journal(up)).toEqual([
      ['adjustment', 7, 9],
      ['sale', -5, 4],
    ])
    expect(qty(ctx, 1)).toBe(4)
  })
})

describe('transfer', () => {
  it('takes stock from the source and gives it to the destination, both legs in one applied row', () => {
    const ctx = ledger(10, 1)
    const c = applyMovements([rec('transfer', 4, { to: 2 })], ctx)
    expect(journal(c)).toEqual([['transfer', -4, 6, 2, 4, 5]])
    expect([qty(ctx, 1), qty(ctx, 2)]).toEqual([6, 5])
  })

  it('parks like a sale when the source lacks stock, and moves when stock arrives; the destination gets nothing before', () => {
    const ctx = ledger(2)
    const t = rec('transfer', 5, { to: 2 })
    const first = applyMovements([t], ctx)
    expect(first.parkedNew.map((p) => p.reason)).toEqual(['INSUFFICIENT_STOCK'])
    expect(qty(ctx, 2)).toBe(0)
    const second = applyMovements([rec('incoming', 4)], ctx)
    expect(journal(second)).toEqual([
      ['incoming', 4, 6],
      ['transfer', -5, 1, 2, 5, 5],
    ])
    expect(second.parkedRemoved).toEqual([t.movement.transaction_id])
  })

  it('fails as UNKNOWN_ITEM after its attempts when the source never had the item', () => {
    const ctx = ledger(0)
    const [p] = applyMovements([rec('transfer', 1, { to: 2 })], ctx).parkedNew
    const r1 = retryParked([p!], { ...ctx, now: 2000 })
    const r2 = retryParked(r1.parkedUpdated, { ...ctx, now: 3000 })
    expect(failed(r2)).toEqual([['transfer', 'UNKNOWN_ITEM']])
    expect(qty(ctx, 2)).toBe(0)
  })

  it('releases sales parked at the destination', () => {
    const ctx = ledger(10)
    const sale = rec('sale', 3, { store: 2 })
    applyMovements([sale], ctx)
    const c = applyMovements([rec('transfer', 4, { to: 2 })], ctx)
    expect(journal(c)).toEqual([
      ['transfer', -4, 6, 2, 4, 4],
      ['sale', -3, 1],
    ])
  })
})

describe('reversal', () => {
  it('returns the stock of a sale, takes back an incoming, and undoes a count', () => {
    const ctx = ledger(0)
    const inc = rec('incoming', 10)
    const sale = rec('sale', 4)
    const count = rec('adjustment', 5)
    const c = applyMovements(
      [
        inc,
        sale,
        count,
        rec('reversal', 4, { reverses: sale.movement.transaction_id }),
        rec('reversal', 5, { reverses: count.movement.transaction_id }),
        rec('reversal', 10, { reverses: inc.movement.transaction_id }),
      ],
      ctx,
    )
    expect(journal(c)).toEqual([
      ['incoming', 10, 10],
      ['sale', -4, 6],
      ['adjustment', -1, 5],
      ['reversal', 4, 9],
      ['reversal', 1, 10],
      ['reversal', -10, 0],
    ])
  })

  it('undoes both legs of a transfer', () => {
    const ctx = ledger(10, 0)
    const t = rec('transfer', 4, { to: 2 })
    const c = applyMovements([t, rec('reversal', 4, { reverses: t.movement.transaction_id })], ctx)
    expect(journal(c)).toEqual([
      ['transfer', -4, 6, 2, 4, 4],
      ['reversal', 4, 10, 2, -4, 0],
    ])
  })

  it('parks when the stock to take back is gone, then fails as INSUFFICIENT_STOCK', () => {
    const ctx = ledger(0)
    const inc = rec('incoming', 10)
    const c = applyMovements(
      [inc, rec('sale', 8), rec('reversal', 10, { reverses: inc.movement.transaction_id })],
      ctx,
    )
    expect(c.parkedNew.map((p) => [p.movement.event_type, p.reason])).toEqual([
      ['reversal', 'INSUFFICIENT_STOCK'],
    ])
    const r1 = retryParked(c.parkedNew, { ...ctx, now: 2000 })
    const r2 = retryParked(r1.parkedUpdated, { ...ctx, now: 3000 })
    expect(failed(r2)).toEqual([['reversal', 'INSUFFICIENT_STOCK']])
    expect(qty(ctx, 1)).toBe(2)
  })

  it('waits for an original that has not arrived, and applies once it has', () => {
    const ctx = ledger(10)
    const sale = rec('sale', 3)
    const rev = rec('reversal', 3, { reverses: sale.movement.transaction_id })
    ctx.originals.set(sale.movement.transaction_id, null)
    const c = applyMovements([rev, sale], ctx)
    expect(c.parkedNew).toEqual([])
    expect(journal(c)).toEqual([
      ['sale', -3, 7],
      ['reversal', 3, 10],
    ])
    expect(c.parkedRemoved).toEqual([])
  })

  it('applies once: a second reversal of the same movement is ALREADY_REVERSED, a reversal of a reversal is refused', () => {
    const ctx = ledger(10)
    const sale = rec('sale', 3)
    const rev = rec('reversal', 3, { reverses: sale.movement.transaction_id })
    const c = applyMovements(
      [
        sale,
        rev,
        rec('reversal', 3, { reverses: sale.movement.transaction_id }),
        rec('reversal', 3, { reverses: rev.movement.transaction_id }),
      ],
      ctx,
    )
    expect(journal(c)).toEqual([
      ['sale', -3, 7],
      ['reversal', 3, 10],
    ])
    expect(failed(c)).toEqual([
      ['reversal', 'ALREADY_REVERSED'],
      ['reversal', 'REVERSAL_OF_REVERSAL'],
    ])
    expect(c.outbox.map((o) => (o.payload as { code: string }).code)).toEqual([
      'ALREADY_REVERSED',
      'REVERSAL_OF_REVERSAL',
    ])
  })

  it('refuses a reversal whose store, item or quantity is not its original', () => {
    const ctx = ledger(10)
    const sale = rec('sale', 3)
    const c = applyMovements([sale, rec('reversal', 4, { reverses: sale.movement.transaction_id })], ctx)
    expect(failed(c)).toEqual([['reversal', 'REVERSAL_MISMATCH']])
    expect(qty(ctx, 1)).toBe(7)
  })

  it('withdraws an original that is still parked: it is never applied, and nothing is undone', () => {
    const ctx = ledger(1)
    const sale = rec('sale', 5)
    const parked = applyMovements([sale], ctx)
    expect(parked.parkedNew).toHaveLength(1)
    const c = applyMovements(
      [rec('reversal', 5, { reverses: sale.movement.transaction_id }), rec('incoming', 10)],
      ctx,
    )
    expect(journal(c)).toEqual([
      ['reversal', 0, 1],
      ['incoming', 10, 11],
    ])
    expect(failed(c)).toEqual([['sale', 'WITHDRAWN']])
    expect(c.parkedRemoved).toEqual([sale.movement.transaction_id])
    expect(c.outbox).toEqual([])
  })

  it('a scheduled retry of a parked reversal withdraws its parked original, which is then not retried', () => {
    const ctx = ledger(0)
    const sale = rec('sale', 5)
    const rev = rec('reversal', 5, { reverses: sale.movement.transaction_id })
    ctx.originals.set(sale.movement.transaction_id, null)
    const first = applyMovements([rev, sale], ctx)
    expect(first.parkedNew.map((p) => [p.movement.event_type, p.reason])).toEqual([
      ['reversal', 'UNKNOWN_ORIGINAL'],
      ['sale', 'UNKNOWN_ITEM'],
    ])
    const due: Parked[] = first.parkedNew
    const r = retryParked(due, { ...ctx, now: 2000 })
    expect(journal(r)).toEqual([['reversal', 0, 0]])
    expect(failed(r)).toEqual([['sale', 'WITHDRAWN']])
    expect(r.parkedRemoved.sort()).toEqual([rev.movement.transaction_id, sale.movement.transaction_id].sort())
    expect(r.parkedUpdated).toEqual([])
  })
})

describe('a count of zero', () => {
  it('is reversed by a reversal of quantity 0, which may wait for it', () => {
    const ctx = ledger(5)
    const count = rec('adjustment', 0)
    const rev = rec('reversal', 0, { reverses: count.movement.transaction_id })
    ctx.originals.set(count.movement.transaction_id, null)
    const c = applyMovements([rev, count], ctx)
    expect(journal(c)).toEqual([
      ['adjustment', -5, 0],
      ['reversal', 5, 5],
    ])
  })
})

describe('found in review', () => {
  it('a parked sale rescheduled by a retry pass and then released in the same pass is not written back', () => {
    const ctx = ledger(0, 0)
    const sale = rec('sale', 5, { store: 2 })
    const t = rec('transfer', 5, { to: 2 })
    const parked = applyMovements([sale, t], ctx).parkedNew
    expect(parked).toHaveLength(2)
    ctx.levels.get('1:1')!.quantity = 10
    ctx.levels.get('1:1')!.known = true
    const r = retryParked(parked, { ...ctx, now: 2000 })
    expect(journal(r)).toEqual([
      ['transfer', -5, 5, 2, 5, 5],
      ['sale', -5, 0],
    ])
    expect(r.parkedRemoved.sort()).toEqual([sale.movement.transaction_id, t.movement.transaction_id].sort())
    expect(r.parkedUpdated).toEqual([])
  })

  it('a withdrawn reversal cancels nothing: its original can still be reversed in the same batch', () => {
    const ctx = ledger(0)
    const sale = rec('sale', 5)
    const r1 = rec('reversal', 5, { reverses: sale.movement.transaction_id })
    const r2 = rec('reversal', 5, { reverses: r1.movement.transaction_id })
    const r3 = rec('reversal', 5, { reverses: sale.movement.transaction_id })
    ctx.originals.set(sale.movement.transaction_id, null)
    ctx.originals.set(r1.movement.transaction_id, null)
    const c = applyMovements([r1, r2, r3], ctx)
    expect(failed(c)).toEqual([['reversal', 'WITHDRAWN']])
    expect(c.parkedNew.map((p) => p.movement.transaction_id)).toEqual([r3.movement.transaction_id])
  })
})
