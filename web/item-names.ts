// The item master's names, for every page that shows an item number. Read once per few seconds, not per
// row: a page of a hundred rows asks nothing more, and an item file loaded shows within that time.
import type { Sql } from '../lib/db.ts'

export interface ItemName {
  name: string
  unit: string | null
}

export type ItemNames = ReadonlyMap<number, ItemName>

export interface ItemNameCache {
  get(): Promise<ItemNames>
}

export function createItemNameCache(deps: { sql: Sql; clock: () => number; ttlMs: number }): ItemNameCache {
  let cached: { at: number; names: Promise<ItemNames> } | undefined
  const read = async (): Promise<ItemNames> => {
    const rows = await deps.sql`select item_number, name, unit from item_names`
    return new Map(
      rows.map((r) => [r.item_number as number, { name: r.name as string, unit: r.unit as string | null }]),
    )
  }
  return {
    get() {
      const now = deps.clock()
      if (!cached || now - cached.at >= deps.ttlMs) {
        const names = read()
        cached = { at: now, names }
        // A failed read is not kept: the next page asks again.
        names.catch(() => {
          if (cached?.names === names) cached = undefined
        })
      }
      return cached.names
    },
  }
}

/** How a page shows an item: its number, then its name when the master has one. */
export function itemLabel(names: ItemNames, item: number | null | undefined): string {
  if (item === null || item === undefined) return '–'
  const known = names.get(Number(item))
  return known ? `${item} · ${known.name}` : String(item)
}
