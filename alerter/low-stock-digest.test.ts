import { describe, expect, it } from 'vitest'
import { digestLowStock, type LevelNow, type LowStockSighting, lowStockText } from './low-stock-digest.ts'

function low(store: number, item: number, episode: number, left = 3): LowStockSighting {
  return {
    sourceId: `low-stock:${store}:${item}:${episode}:LOW`,
    line: `store ${store} item ${item} is low: ${left} left (threshold 10)`,
    severity: 'warning',
    store,
    item,
    episode,
  }
}

function out(store: number, item: number, episode: number): LowStockSighting {
  return {
    sourceId: `low-stock:${store}:${item}:${episode}:OUT_OF_STOCK`,
    line: `store ${store} item ${item} is OUT OF STOCK`,
    severity: 'critical',
    store,
    item,
    episode,
  }
}

const levels = (entries: [string, LevelNow][]) => new Map(entries)

describe('low-stock digest', () => {
  it('an item that went low and recovered within the window is counted, not listed', () => {
    const d = digestLowStock(
      [low(3, 9, 1), low(1, 4, 2)],
      levels([
        ['3:9', { lowState: 1, lowEpisode: 1 }],
        ['1:4', { lowState: 0, lowEpisode: 2 }],
      ]),
    )
    expect(d.stillLow.map((s) => s.sourceId)).toEqual(['low-stock:3:9:1:LOW'])
    expect(d.recovered).toBe(1)
    expect(lowStockText(d)).toBe(
      'store 3 item 9 is low: 3 left (threshold 10). 1 other item went low and recovered within the window',
    )
  })

  it('a later episode in the ledger means the sighted one ended, even though the item is low again', () => {
    const d = digestLowStock([low(2, 2, 1)], levels([['2:2', { lowState: 1, lowEpisode: 2 }]]))
    expect(d).toEqual({ stillLow: [], recovered: 1 })
  })

  it('an item with several episodes in the window is judged by its latest, and listed once', () => {
    const ledger = levels([['5:12', { lowState: 2, lowEpisode: 3 }]])
    const d = digestLowStock([low(5, 12, 2), low(5, 12, 3), out(5, 12, 3)], ledger)
    expect(d.stillLow.map((s) => s.sourceId)).toEqual(['low-stock:5:12:3:OUT_OF_STOCK'])
    expect(d.recovered).toBe(0)
    expect(lowStockText(d)).toBe('store 5 item 12 is OUT OF STOCK')
  })

  it('an OUT_OF_STOCK that recovered is not alerted either', () => {
    const d = digestLowStock([low(1, 1, 4), out(1, 1, 4)], levels([['1:1', { lowState: 0, lowEpisode: 4 }]]))
    expect(d).toEqual({ stillLow: [], recovered: 1 })
  })

  it('takes the event at its word when the ledger has no row for the item, or an older episode', () => {
    const d = digestLowStock([low(7, 1, 1), low(7, 2, 5)], levels([['7:2', { lowState: 0, lowEpisode: 4 }]]))
    expect(d.stillLow.map((s) => s.sourceId)).toEqual(['low-stock:7:1:1:LOW', 'low-stock:7:2:5:LOW'])
    expect(d.recovered).toBe(0)
  })

  it('a window where everything recovered says so, for the log', () => {
    const d = digestLowStock(
      [low(1, 1, 1), low(1, 2, 1), low(1, 1, 2)],
      levels([
        ['1:1', { lowState: 0, lowEpisode: 2 }],
        ['1:2', { lowState: 0, lowEpisode: 1 }],
      ]),
    )
    expect(d).toEqual({ stillLow: [], recovered: 2 })
    expect(lowStockText(d)).toBe('2 items went low and recovered within the window')
  })

  it('lists items still low out of stock first, then by store and item, up to the line limit', () => {
    const sightings = [low(2, 1, 1), low(1, 9, 1), out(4, 4, 1), low(1, 3, 1), low(3, 3, 1)]
    const d = digestLowStock(sightings, levels([['3:3', { lowState: 0, lowEpisode: 1 }]]))
    expect(d.recovered).toBe(1)
    expect(lowStockText(d, 3)).toBe(
      '4 items low at the end of the window: store 4 item 4 is OUT OF STOCK; store 1 item 3 is low: 3 left ' +
        '(threshold 10); store 1 item 9 is low: 3 left (threshold 10); and 1 more. 1 other item went low and ' +
        'recovered within the window',
    )
  })

  it('larger.csv: 19 crossings over 17 items, one low at the end, is one line and a count', () => {
    const sightings: LowStockSighting[] = []
    const ledger = new Map<string, LevelNow>()
    for (let item = 1; item <= 17; item++) {
      sightings.push(low(1, item, 1))
      if (item <= 2) sightings.push(low(1, item, 2))
      ledger.set(`1:${item}`, { lowState: item === 9 ? 1 : 0, lowEpisode: item <= 2 ? 2 : 1 })
    }
    expect(sightings).toHaveLength(19)
    const d = digestLowStock(sightings, ledger)
    expect(lowStockText(d)).toBe(
      'store 1 item 9 is low: 3 left (threshold 10). 16 other items went low and recovered within the window',
    )
  })
})
