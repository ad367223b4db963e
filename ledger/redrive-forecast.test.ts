import { describe, expect, it } from 'vitest'
import {
  createRedriveForecast,
  type ForecastMovement,
  forecastRedrive,
  type StockNow,
} from './redrive-forecast.ts'

const sale = (store: number, item: number, quantity: number): ForecastMovement => ({
  event_type: 'sale',
  store_number: store,
  item_number: item,
  quantity,
  to_store_number: null,
})
const move = (
  event_type: ForecastMovement['event_type'],
  store: number,
  item: number,
  quantity: number,
  to: number | null = null,
): ForecastMovement => ({ event_type, store_number: store, item_number: item, quantity, to_store_number: to })

const stock = (entries: [string, number][]) =>
  new Map<string, StockNow>(entries.map(([k, q]) => [k, { quantity: q, known: true }]))

describe('forecastRedrive', () => {
  it('walks one item’s sales in send order: a sale the stock no longer covers fails again, a smaller one after it applies', () => {
    const r = forecastRedrive([sale(5, 12, 4), sale(5, 12, 5), sale(5, 12, 1)], stock([['5:12', 6]]))
    expect(r.outcomes).toEqual(['applies', 'fails-again', 'applies'])
    expect(r.groups).toEqual([
      {
        store: 5,
        item: 12,
        count: 3,
        quantity: 10,
        stockNow: 6,
        failAgain: 1,
        failAgainQuantity: 5,
        shortBy: 4,
      },
    ])
  })

  it('keeps items apart, and orders the groups by store and item', () => {
    const r = forecastRedrive(
      [sale(7, 1, 3), sale(5, 2, 3), sale(7, 1, 3)],
      stock([
        ['7:1', 3],
        ['5:2', 10],
      ]),
    )
    expect(r.outcomes).toEqual(['applies', 'applies', 'fails-again'])
    expect(r.groups.map((g) => [g.store, g.item, g.count, g.failAgain, g.shortBy])).toEqual([
      [5, 2, 1, 0, 0],
      [7, 1, 2, 1, 3],
    ])
  })

  it('says an item nothing was ever booked for fails again, and how much to book', () => {
    const r = forecastRedrive([sale(9, 9, 2), sale(9, 9, 1)], new Map())
    expect(r.outcomes).toEqual(['fails-again', 'fails-again'])
    expect(r.groups[0]).toMatchObject({ stockNow: null, failAgain: 2, failAgainQuantity: 3, shortBy: 3 })
  })

  it('counts an incoming in the re-drive before the sales after it', () => {
    const r = forecastRedrive([sale(1, 1, 5), move('incoming', 1, 1, 5), sale(1, 1, 5)], stock([['1:1', 0]]))
    expect(r.outcomes).toEqual(['fails-again', 'applies', 'applies'])
    expect(r.groups[0]!.shortBy).toBe(5)
  })

  it('moves a transfer’s stock to the receiving store, whose shortfall is then not one figure', () => {
    const r = forecastRedrive(
      [move('transfer', 1, 4, 3, 2), sale(2, 4, 3), move('transfer', 1, 4, 3, 2)],
      stock([
        ['1:4', 4],
        ['2:4', 0],
      ]),
    )
    expect(r.outcomes).toEqual(['applies', 'applies', 'fails-again'])
    expect(r.groups.map((g) => [g.store, g.failAgain, g.shortBy])).toEqual([
      [1, 1, 2],
      [2, 0, null],
    ])
  })

  it('does not foretell a reversal, and a count makes the shortfall no one figure', () => {
    const r = forecastRedrive(
      [move('reversal', 3, 3, 2), move('adjustment', 4, 4, 1), sale(4, 4, 1), sale(4, 4, 1)],
      stock([
        ['3:3', 0],
        ['4:4', 50],
      ]),
    )
    expect(r.outcomes).toEqual(['unknown', 'applies', 'applies', 'fails-again'])
    expect(r.groups.map((g) => g.shortBy)).toEqual([null, null])
  })
})

describe('createRedriveForecast', () => {
  it('asks for the stock of each key once, the receiving store of a transfer included', () => {
    const f = createRedriveForecast()
    const batch = [sale(1, 1, 1), move('transfer', 1, 1, 1, 2), sale(1, 1, 1)]
    expect(f.missing(batch)).toEqual([
      { store: 1, item: 1 },
      { store: 2, item: 1 },
    ])
    f.stock(1, 1, { quantity: 2, known: true })
    f.stock(2, 1, undefined)
    expect(f.missing(batch)).toEqual([])
    expect(batch.map((m) => f.next(m))).toEqual(['applies', 'applies', 'fails-again'])
    expect(f.totals()).toEqual({ applies: 2, failAgain: 1, unknown: 0 })
  })

  it('refuses a movement whose stock it was not given, rather than guess', () => {
    expect(() => createRedriveForecast().next(sale(1, 1, 1))).toThrow('was not given the stock of 1:1')
  })
})
