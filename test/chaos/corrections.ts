// Counts, transfers and reversals for the chaos run, with a ground truth no interleaving can change.
// Files may be imported in any order (a killed importer resumes one while the next is dropped), so every
// file has keys of its own (items 10f+1 … 10f+10 of file f), and each kind of key has its own stores, so
// what a key sees never depends on another file or another partition's timing:
//   stores 11-12: counts, incomings, sales and reversals of them (one partition's order decides all);
//   stores 13-14: sources of transfers, stocked by incomings only; a reversal there may precede its original;
//   stores 15-16: destinations of transfers, which only ever receive (and give back on a reversal);
//   stores 17-18: the file that `stockflow revert` undoes during the run.
import { reversalIdOf } from '../../ledger/revert.ts'
import type { GroundTruth } from './generate.ts'

export const CORRECTIONS_HEADER =
  'transaction_id,event_type,date,store_number,item_number,value,to_store_number,reverses'

export const REVERT_FILE = 'chaos-revert.csv'

export interface CorrectionTruth {
  /** Corrections refused by the processor, with the code each must fail with. */
  refused: Map<string, string>
  /** The file to revert and the ids its revert reverses. */
  revert: { file: string; originals: string[] }
  /** A sale of the reverted file that stays parked: withdrawn by the revert, or given up before it. */
  withdrawable: Set<string>
  /** Ids that may or may not reach the journal (the withdrawn sale's reversal). */
  optional: Set<string>
}

interface Original {
  id: string
  type: string
  store: number
  item: number
  quantity: number
  /** What it did to its store's stock (leg 1), and to the destination (leg 2) for a transfer. */
  delta: number
  to?: number
  reversed: boolean
}

/** Writes correction rows into the chaos files' stream; `line` adds one row to the current file. */
export function createCorrections(
  truth: GroundTruth,
  rand: () => number,
  uuid: () => string,
  date: () => string,
) {
  const extra: CorrectionTruth = {
    refused: new Map(),
    revert: { file: REVERT_FILE, originals: [] },
    withdrawable: new Set(),
    optional: new Set(),
  }
  const level = (k: string) => truth.stock.get(k) ?? 0
  const change = (k: string, d: number) => truth.stock.set(k, level(k) + d)
  const counted: Original[] = []
  const transfers: Original[] = []
  const row = (id: string, type: string, store: number, item: number, qty: number, to = '', rev = '') =>
    `${id},${type},${date()},${store},${item},${qty},${to},${rev}`
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!

  let file = -1
  /** One or two correction rows of file `f`, added through `add`. */
  function next(add: (line: string) => void, f: number): void {
    if (f !== file) {
      // A reversal names only movements of its own file, which arrive before it in the file's order.
      file = f
      counted.length = 0
      transfers.length = 0
    }
    const item = 1 + f * 10 + Math.floor(rand() * 10)
    const r = rand()
    if (r < 0.3) {
      // A count key: stock it, count it, sell from it.
      const store = 11 + Math.floor(rand() * 2)
      const k = `${store}:${item}`
      const id = uuid()
      const kind = rand()
      if (kind < 0.4) {
        const q = 1 + Math.floor(rand() * 20)
        add(row(id, 'incoming', store, item, q))
        counted.push({ id, type: 'incoming', store, item, quantity: q, delta: q, reversed: false })
        change(k, q)
      } else if (kind < 0.7 || level(k) === 0) {
        const q = Math.floor(rand() * 30)
        const d = q - level(k)
        add(row(id, 'adjustment', store, item, q))
        counted.push({ id, type: 'adjustment', store, item, quantity: q, delta: d, reversed: false })
        truth.stock.set(k, q)
      } else {
        const q = 1 + Math.floor(rand() * level(k))
        add(row(id, 'sale', store, item, q))
        counted.push({ id, type: 'sale', store, item, quantity: q, delta: -q, reversed: false })
        change(k, -q)
      }
      truth.applied.add(id)
      return
    }
    if (r < 0.5 && counted.length > 0) {
      // A reversal of something counted, a second one, a reversal of a reversal, or one that does not match.
      const o = pick(counted)
      const k = `${o.store}:${o.item}`
      const id = uuid()
      if (o.type === 'reversal') {
        add(row(id, 'reversal', o.store, o.item, o.quantity, '', o.id))
        extra.refused.set(id, 'REVERSAL_OF_REVERSAL')
      } else if (o.reversed) {
        add(row(id, 'reversal', o.store, o.item, o.quantity, '', o.id))
        extra.refused.set(id, 'ALREADY_REVERSED')
      } else if (rand() < 0.15) {
        add(row(id, 'reversal', o.store, o.item, o.quantity + 1, '', o.id))
        extra.refused.set(id, 'REVERSAL_MISMATCH')
      } else if (level(k) - o.delta >= 0) {
        add(row(id, 'reversal', o.store, o.item, o.quantity, '', o.id))
        o.reversed = true
        change(k, -o.delta)
        truth.applied.add(id)
        counted.push({
          id,
          type: 'reversal',
          store: o.store,
          item: o.item,
          quantity: o.quantity,
          delta: -o.delta,
          reversed: false,
        })
      }
      return
    }
    const source = 13 + Math.floor(rand() * 2)
    const src = `${source}:${item}`
    if (r < 0.7) {
      const q = 1 + Math.floor(rand() * 9)
      const id = uuid()
      if (rand() < 0.3) {
        // The reversal first, its incoming right after: it waits for its original.
        const rev = uuid()
        add(row(rev, 'reversal', source, item, q, '', id))
        add(row(id, 'incoming', source, item, q))
        truth.applied.add(rev)
      } else {
        add(row(id, 'incoming', source, item, q))
        change(src, q)
      }
      truth.applied.add(id)
      return
    }
    if (r < 0.9 && level(src) > 0) {
      const to = 15 + Math.floor(rand() * 2)
      const q = 1 + Math.floor(rand() * level(src))
      const id = uuid()
      add(row(id, 'transfer', source, item, q, String(to)))
      change(src, -q)
      change(`${to}:${item}`, q)
      transfers.push({
        id,
        type: 'transfer',
        store: source,
        item,
        quantity: q,
        delta: -q,
        to,
        reversed: false,
      })
      truth.applied.add(id)
      return
    }
    const t = transfers.find((x) => !x.reversed)
    if (!t) return
    // Reversing a transfer gives the source its stock back and takes it from the destination, which still
    // has it: destinations only receive.
    const id = uuid()
    add(row(id, 'reversal', t.store, t.item, t.quantity, '', t.id))
    t.reversed = true
    change(`${t.store}:${t.item}`, t.quantity)
    change(`${t.to}:${t.item}`, -t.quantity)
    truth.applied.add(id)
  }

  /** The file `stockflow revert` undoes: afterwards stores 17 and 18 hold nothing. */
  function revertFile(): { name: string; content: string } {
    const lines = [CORRECTIONS_HEADER]
    const add = (id: string, l: string, revertable = true) => {
      lines.push(l)
      if (!revertable) return
      truth.applied.add(id)
      truth.applied.add(reversalIdOf(id))
      extra.revert.originals.push(id)
    }
    for (let item = 1; item <= 5; item++) {
      const [inc, sale, count, move] = [uuid(), uuid(), uuid(), uuid()]
      add(inc, row(inc, 'incoming', 17, item, 50))
      add(sale, row(sale, 'sale', 17, item, 5))
      add(count, row(count, 'adjustment', 17, item, 40))
      add(move, row(move, 'transfer', 17, item, 10, '18'))
    }
    // Item 9 never has stock at store 18: this sale is still parked when the file is reverted.
    const parked = uuid()
    add(parked, row(parked, 'sale', 18, 9, 3), false)
    extra.withdrawable.add(parked)
    extra.optional.add(reversalIdOf(parked))
    return { name: REVERT_FILE, content: `${lines.join('\n')}\n` }
  }

  return { next, revertFile, extra }
}
