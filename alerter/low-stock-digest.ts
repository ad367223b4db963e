// Which low-stock items of a digest window still deserve an alert when the window closes. The processor
// emits a LowStock only when an item crosses downwards (one per episode, and one more if it then reaches
// zero); it says nothing when the item recovers. Its episode state in the ledger does: an episode has
// ended when the item's state is back at 0 or a later episode has begun. A file that sells and restocks
// (examples/larger.csv: 19 crossings over 17 items, one of them low at the end) would otherwise page
// someone about items that are fine again before the alert is even sent.
import { movementKey } from '../schemas/contract.ts'

/** The store:item a low-stock event is about, and which of its episodes. */
export interface LowStockMark {
  store: number
  item: number
  episode: number
}

/** One low-stock event waiting in the window, with the line it alerts with. */
export interface LowStockSighting extends LowStockMark {
  sourceId: string
  line: string
  severity: 'warning' | 'critical'
}

/** The ledger's episode state of one store:item now (stock_levels.low_state, low_episode). */
export interface LevelNow {
  /** 0 at or above the threshold, 1 low, 2 out of stock. */
  lowState: number
  lowEpisode: number
}

export interface LowStockDigest {
  /** One sighting per item still low when the window closes: its latest, in the order they are listed. */
  stillLow: LowStockSighting[]
  /** Items that went low within the window and are no longer low. */
  recovered: number
}

/** An OUT_OF_STOCK of an episode comes after its LOW; a later episode after both. */
function later(a: LowStockSighting, b: LowStockSighting): boolean {
  if (a.episode !== b.episode) return a.episode > b.episode
  return a.severity === 'critical' && b.severity !== 'critical'
}

/**
 * Still low: the ledger is in the sighting's episode and not back at 0. An item the ledger does not know,
 * or knows only at an earlier episode than the event (a ledger read from elsewhere), is taken at the
 * event's word. A later episode in the ledger means this one ended; that crossing has an event of its
 * own, in this window or the next one.
 */
function isStillLow(s: LowStockSighting, now: LevelNow | undefined): boolean {
  if (!now || now.lowEpisode < s.episode) return true
  return now.lowEpisode === s.episode && now.lowState > 0
}

/** Pure: the window's sightings (in arrival order) against the ledger's state of their items now. */
export function digestLowStock(
  sightings: readonly LowStockSighting[],
  levels: ReadonlyMap<string, LevelNow>,
): LowStockDigest {
  const latest = new Map<string, LowStockSighting>()
  for (const s of sightings) {
    const key = movementKey(s.store, s.item)
    const seen = latest.get(key)
    if (!seen || later(s, seen)) latest.set(key, s)
  }
  const stillLow: LowStockSighting[] = []
  let recovered = 0
  for (const [key, s] of latest) {
    if (isStillLow(s, levels.get(key))) stillLow.push(s)
    else recovered++
  }
  stillLow.sort(
    (a, b) =>
      Number(b.severity === 'critical') - Number(a.severity === 'critical') ||
      a.store - b.store ||
      a.item - b.item,
  )
  return { stillLow, recovered }
}

/**
 * The alert's text: a single item reads as its own line, several as a list (out of stock first). Items
 * that recovered are one count at the end, for information; they are never listed. With no item still
 * low this is the information alone, which is logged, not alerted.
 */
export function lowStockText(d: LowStockDigest, maxLines = 10): string {
  const n = d.stillLow.length
  const r = d.recovered
  const recovered = `${r} ${n > 0 ? 'other ' : ''}item${r === 1 ? '' : 's'} went low and recovered within the window`
  if (n === 0) return recovered
  const shown = d.stillLow.slice(0, maxLines).map((s) => s.line)
  const more = n > maxLines ? `; and ${n - maxLines} more` : ''
  const list = n === 1 ? shown[0]! : `${n} items low at the end of the window: ${shown.join('; ')}${more}`
  return r === 0 ? list : `${list}. ${recovered}`
}
