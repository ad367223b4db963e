// What a re-drive will do, foretold from the ledger as it stands: each store and item's re-driven movements
// walked in the order the re-drive sends them, against the item's current stock. A sale whose stock is still
// not there will fail again; the preview says so before anything is sent. Pure: the caller reads the stock.
import { movementKey } from '../schemas/contract.ts'
import type { FailedMovement } from './redrive.ts'

/** One item's stock now: `known` is false for an item nothing was ever booked for. */
export interface StockNow {
  quantity: number
  known: boolean
}

/**
 * `applies`: the stock is there. `fails-again`: it is not (or the item never had any), so the movement
 * parks and fails once more. `unknown`: a reversal, whose effect depends on its original; not foretold.
 */
export type ForecastOutcome = 'applies' | 'fails-again' | 'unknown'

export interface ForecastGroup {
  store: number
  item: number
  /** Movements of this store and item in the re-drive, and their quantities added up. */
  count: number
  quantity: number
  /** The stock before the re-drive; null when nothing was ever booked for the item. */
  stockNow: number | null
  failAgain: number
  failAgainQuantity: number
  /**
   * Stock to book first so that every sale and transfer of this group applies; null when the group holds
   * a count or a reversal, which the walk cannot undo into a single figure.
   */
  shortBy: number | null
}

export type ForecastMovement = Pick<
  FailedMovement,
  'event_type' | 'store_number' | 'item_number' | 'quantity' | 'to_store_number'
>

interface Walked extends ForecastGroup {
  /** Stock out less stock in so far, at its highest: what the group needs before it starts. */
  need: number
  flow: number
  exact: boolean
}

export interface RedriveForecast {
  /** The next movement in send order; its stock must have been given to `stock` before (see `missing`). */
  next(m: ForecastMovement): ForecastOutcome
  /** The store:item keys of these movements whose stock the forecast has not been given yet. */
  missing(ms: ForecastMovement[]): { store: number; item: number }[]
  /** Gives the forecast the current stock of an item (an absent one: never booked). */
  stock(store: number, item: number, now: StockNow | undefined): void
  groups(): ForecastGroup[]
  totals(): { applies: number; failAgain: number; unknown: number }
}

/**
 * A forecast walked a batch at a time, so a re-drive of any size needs memory for its items only: for
 * each batch, give it the stock of the keys `missing` names, then call `next` for each movement in order.
 */
export function createRedriveForecast(): RedriveForecast {
  const level = new Map<string, StockNow>()
  const groups = new Map<string, Walked>()
  // Stock a transfer brings in is not in the receiving group's own walk: its shortfall is then no one figure.
  const receivedTransfer = new Set<string>()
  const totals = { applies: 0, failAgain: 0, unknown: 0 }
  const levelOf = (store: number, item: number): StockNow => {
    const found = level.get(movementKey(store, item))
    if (!found) throw new Error(`the forecast was not given the stock of ${movementKey(store, item)}`)
    return found
  }
  const groupOf = (m: ForecastMovement): Walked => {
    const key = movementKey(m.store_number, m.item_number)
    let g = groups.get(key)
    if (!g) {
      const now = levelOf(m.store_number, m.item_number)
      g = {
        store: m.store_number,
        item: m.item_number,
        count: 0,
        quantity: 0,
        stockNow: now.known ? now.quantity : null,
        failAgain: 0,
        failAgainQuantity: 0,
        shortBy: null,
        need: 0,
        flow: 0,
        exact: true,
      }
      groups.set(key, g)
    }
    return g
  }
  const outcome = (m: ForecastMovement, g: Walked): ForecastOutcome => {
    const own = levelOf(m.store_number, m.item_number)
    const takeOut = () => {
      g.flow += m.quantity
      g.need = Math.max(g.need, g.flow)
      if (!own.known || own.quantity < m.quantity) return false
      own.quantity -= m.quantity
      return true
    }
    switch (m.event_type) {
      case 'sale':
        return takeOut() ? 'applies' : 'fails-again'
      case 'transfer': {
        if (!takeOut()) return 'fails-again'
        const to = levelOf(m.to_store_number!, m.item_number)
        to.quantity += m.quantity
        to.known = true
        receivedTransfer.add(movementKey(m.to_store_number!, m.item_number))
        return 'applies'
      }
      case 'incoming':
        g.flow -= m.quantity
        own.quantity += m.quantity
        own.known = true
        return 'applies'
      case 'adjustment':
        g.exact = false
        own.quantity = m.quantity
        own.known = true
        return 'applies'
      case 'reversal':
        g.exact = false
        return 'unknown'
    }
  }
  return {
    next(m) {
      const g = groupOf(m)
      g.count++
      g.quantity += m.quantity
      const result = outcome(m, g)
      if (result === 'fails-again') {
        g.failAgain++
        g.failAgainQuantity += m.quantity
        totals.failAgain++
      } else if (result === 'applies') totals.applies++
      else totals.unknown++
      return result
    },
    missing(ms) {
      const out = new Map<string, { store: number; item: number }>()
      for (const m of ms) {
        for (const store of m.event_type === 'transfer'
          ? [m.store_number, m.to_store_number!]
          : [m.store_number]) {
          const key = movementKey(store, m.item_number)
          if (!level.has(key)) out.set(key, { store, item: m.item_number })
        }
      }
      return [...out.values()]
    },
    stock(store, item, now) {
      level.set(movementKey(store, item), now ? { ...now } : { quantity: 0, known: false })
    },
    groups() {
      return [...groups.values()]
        .map(({ need, flow: _, exact, ...g }) => ({
          ...g,
          shortBy:
            exact && !receivedTransfer.has(movementKey(g.store, g.item))
              ? Math.max(0, need - (g.stockNow ?? 0))
              : null,
        }))
        .sort((a, b) => a.store - b.store || a.item - b.item)
    },
    totals: () => ({ ...totals }),
  }
}

/** The whole forecast of movements already in hand, in send order (what the preview walks batch by batch). */
export function forecastRedrive(
  movements: ForecastMovement[],
  stock: Map<string, StockNow>,
): { outcomes: ForecastOutcome[]; groups: ForecastGroup[] } {
  const f = createRedriveForecast()
  for (const k of f.missing(movements)) f.stock(k.store, k.item, stock.get(movementKey(k.store, k.item)))
  const outcomes = movements.map((m) => f.next(m))
  return { outcomes, groups: f.groups() }
}
