import { describe, expect, it } from 'vitest'
import { type ImportMovement, planRevert, reversalIdOf } from './revert.ts'

const mv = (n: number, more: Partial<ImportMovement>): ImportMovement => ({
  transaction_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  event_type: 'incoming',
  store_number: 1,
  item_number: 1,
  quantity: 5,
  state: 'applied',
  delta: 5,
  second_store: null,
  second_delta: null,
  reversed_by: null,
  failed_reversal: null,
  ...more,
})

describe('planRevert', () => {
  it('simulates the reversals newest first: one that would take stock below zero parks and changes nothing', () => {
    const plan = planRevert([mv(2, {}), mv(1, {})], new Map([['1:1', 6]]), 0)
    expect(plan.counts).toMatchObject({ toReverse: 2, belowZero: 1 })
    expect(plan.items).toEqual([{ store: 1, item: 1, quantity: 6, after: 1 }])
    expect(plan.reversals.map((r) => r.reverses)).toEqual([
      mv(2, {}).transaction_id,
      mv(1, {}).transaction_id,
    ])
  })

  it('reverses both legs of a transfer, withdraws what is parked, and sends nothing for what is settled', () => {
    const plan = planRevert(
      [
        mv(1, { event_type: 'transfer', delta: -3, second_store: 2, second_delta: 3, quantity: 3 }),
        mv(2, { state: 'parked', event_type: 'sale', delta: null }),
        mv(3, { reversed_by: 'x' }),
        mv(4, { failed_reversal: 'y' }),
        mv(5, { state: 'failed' }),
        mv(6, { event_type: 'reversal', delta: 2 }),
      ],
      new Map([
        ['1:1', 1],
        ['2:1', 3],
      ]),
      7,
    )
    expect(plan.counts).toEqual({
      toReverse: 1,
      alreadyReversed: 1,
      toWithdraw: 1,
      belowZero: 0,
      reversalFailed: 1,
      reversalsInFile: 1,
      notApplied: 1,
    })
    expect(plan.items).toEqual([
      { store: 1, item: 1, quantity: 1, after: 4 },
      { store: 2, item: 1, quantity: 3, after: 0 },
    ])
    expect(plan.reversals.map((r) => [r.transaction_id, r.reverses, r.occurred_at])).toEqual([
      [reversalIdOf(mv(1, {}).transaction_id), mv(1, {}).transaction_id, 7],
      [reversalIdOf(mv(2, {}).transaction_id), mv(2, {}).transaction_id, 7],
    ])
  })

  it('derives a version-8 UUID from the original, the same every time', () => {
    const id = reversalIdOf('8947695B-7f19-44b6-96b6-7f8ed041fe57')
    expect(id).toBe(reversalIdOf('8947695b-7f19-44b6-96b6-7f8ed041fe57'))
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })
})
