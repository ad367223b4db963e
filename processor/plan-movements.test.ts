import { describe, expect, it } from 'vitest'
import type { Level, Parked, Received } from './ledger-model.ts'
import { applyMovements, retryParked } from './plan-movements.ts'

const policy = { scheduleMs: [100, 1000], maxAttempts: 3, parkTimeoutMs: 60_000 }
const topics = { errors: 'errors', lowStock: 'low-stock' }
let n = 0
function rec(type: 'incoming' | 'sale', quantity: number, item = 1): Received {
  n++
  return {
    movement: {
      transaction_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      event_type: type,
      occurred_at: n,
      store_number: 1,
      item_number: item,
      quantity,
    },
    sourceFile: null,
    sourceLine: null,
    topic: 'events',
    partition: 0,
    offset: n,
  }
}
function level(quantity: number, known = true, item = 1): Level {
  return {
    store: 1,
    item,
    quantity,
    known,
    lowState: 0,
    lowEpisode: 0,
    threshold: 10,
    lastTransactionId: null,
    dirty: false,
  }
}

describe('applyMovements', () => {
  it('parks a sale that stock does not cover and applies it when stock arrives', () => {
    const levels = new Map([['1:1', level(0, false)]])
    const parked = new Map<string, Parked[]>()
    const sale = rec('sale', 5)
    const first = applyMovements([sale], { levels, parked, now: 1000, policy, topics })
    expect(first.parkedNew.map((p) => [p.reason, p.attempts, p.nextAttemptAt])).toEqual([
      ['UNKNOWN_ITEM', 1, 1100],
    ])
    const second = applyMovements([rec('incoming', 20)], { levels, parked, now: 1050, policy, topics })
    expect(second.applied.map((a) => a.movement.event_type)).toEqual(['incoming', 'sale'])
    expect(second.parkedRemoved).toEqual([sale.movement.transaction_id])
    expect(levels.get('1:1')?.quantity).toBe(15)
  })

  it('a sale parked and then covered within one batch is applied and not left parked', () => {
    const levels = new Map([['1:1', level(2)]])
    const c = applyMovements([rec('sale', 5), rec('incoming', 10)], {
      levels,
      parked: new Map(),
      now: 0,
      policy,
      topics,
    })
    expect(c.parkedNew).toEqual([])
    expect(c.parkedRemoved).toEqual([])
    expect(c.applied.map((a) => a.movement.event_type)).toEqual(['incoming', 'sale'])
    expect(levels.get('1:1')?.quantity).toBe(7)
  })

  it('never takes stock below zero and keeps other items moving', () => {
    const levels = new Map([
      ['1:1', level(3)],
      ['1:2', level(50, true, 2)],
    ])
    const c = applyMovements([rec('sale', 4), rec('sale', 5, 2)], {
      levels,
      parked: new Map(),
      now: 0,
      policy,
      topics,
    })
    expect(c.parkedNew.map((p) => p.reason)).toEqual(['INSUFFICIENT_STOCK'])
    expect(c.applied.map((a) => a.movement.item_number)).toEqual([2])
    expect(levels.get('1:1')?.quantity).toBe(3)
  })

  it('emits one LowStock per episode, escalates once at zero, and re-arms on recovery', () => {
    const levels = new Map([['1:1', level(12)]])
    const ctx = { levels, parked: new Map(), now: 0, policy, topics }
    const out = [
      ...applyMovements([rec('sale', 3), rec('sale', 1)], ctx).outbox,
      ...applyMovements([rec('sale', 8)], ctx).outbox,
      ...applyMovements([rec('incoming', 10), rec('sale', 2)], ctx).outbox,
    ]
    expect(out.map((o) => (o.payload as { event_id: string }).event_id)).toEqual([
      '1:1:1:LOW',
      '1:1:1:OUT_OF_STOCK',
      '1:1:2:LOW',
    ])
    applyMovements([rec('sale', 1)], ctx)
    expect(levels.get('1:1')?.quantity).toBe(7)
    expect(levels.get('1:1')?.lowState).toBe(1)
    const again = applyMovements([rec('incoming', 1)], ctx)
    expect(again.outbox).toEqual([])
  })
})

describe('retryParked', () => {
  it('counts attempts and gives up after the limit with an INSUFFICIENT_STOCK error', () => {
    const levels = new Map([['1:1', level(1)]])
    const parked = new Map<string, Parked[]>()
    const ctx = { levels, parked, now: 0, policy, topics }
    const [p] = applyMovements([rec('sale', 5)], ctx).parkedNew
    const r1 = retryParked([p!], { ...ctx, now: 100 })
    expect(r1.parkedUpdated.map((x) => [x.attempts, x.attemptedAt, x.nextAttemptAt])).toEqual([
      [2, [0, 100], 1100],
    ])
    const r2 = retryParked(r1.parkedUpdated, { ...ctx, now: 1100 })
    expect(r2.failed.map((f) => [f.code, f.attempts])).toEqual([['INSUFFICIENT_STOCK', 3]])
    expect(r2.parkedRemoved).toEqual([p!.movement.transaction_id])
    expect(r2.outbox[0]?.payload).toMatchObject({
      code: 'INSUFFICIENT_STOCK',
      stage: 'process',
      attempts: 3,
      attempted_at: [0, 100, 1100],
    })
  })
})

describe('stock bound', () => {
  it('refuses an incoming that would take stock past STOCK_MAX, as STOCK_LIMIT, and keeps the level', () => {
    const levels = new Map([['1:1', level(Number.MAX_SAFE_INTEGER - 10)]])
    const c = applyMovements([rec('incoming', 11), rec('incoming', 10)], {
      levels,
      parked: new Map(),
      now: 5,
      policy,
      topics,
    })
    expect(c.failed.map((f) => f.code)).toEqual(['STOCK_LIMIT'])
    expect(c.outbox[0]?.payload).toMatchObject({ code: 'STOCK_LIMIT', stage: 'process', attempts: 1 })
    expect([c.applied.length, levels.get('1:1')?.quantity]).toEqual([1, Number.MAX_SAFE_INTEGER])
  })
})
