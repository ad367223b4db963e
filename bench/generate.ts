// Realistic CSVs in the seed's format: per store:item, stock arrives before it is sold, so a run ends
// with no failures and a stock level that is known in advance.
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { join } from 'node:path'

export const HEADER = 'transaction_id,event_type,date,store_number,item_number,value'

export interface Generated {
  files: string[]
  rows: number
  expectedUnits: number
  /** The stock each "store:item" ends with once every row is applied. */
  levels: Map<string, number>
}

/** Deterministic PRNG (mulberry32), so a seed gives the same data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export async function generateCsvs(opts: {
  dir: string
  rows: number
  files: number
  items: number
  seed?: number
  prefix?: string
}): Promise<Generated> {
  const rand = prng(opts.seed ?? 42)
  const levels = new Map<number, number>()
  const perFile = Math.ceil(opts.rows / opts.files)
  const files: string[] = []
  let written = 0
  const start = Date.parse('2024-01-01T00:00:00Z')
  for (let f = 0; f < opts.files && written < opts.rows; f++) {
    const path = join(opts.dir, `${opts.prefix ?? 'bench'}-${String(f).padStart(4, '0')}.csv`)
    files.push(path)
    // Flushed to disk before closing: the generation is not timed, and must not leave the kernel a backlog of
    // dirty pages to write back during the timed phases.
    const out = createWriteStream(path, { flush: true })
    out.write(`${HEADER}\n`)
    const n = Math.min(perFile, opts.rows - written)
    for (let i = 0; i < n; i++) {
      const key = Math.floor(rand() * opts.items)
      const store = (key % 50) + 1
      const item = Math.floor(key / 50) + 1
      const level = levels.get(key) ?? 0
      const qty = 1 + Math.floor(rand() * 20)
      const sale = level >= qty && rand() < 0.6
      levels.set(key, sale ? level - qty : level + qty)
      const date = new Date(start + written * 1000).toISOString().replace('.000Z', 'Z')
      if (!out.write(`${randomUUID()},${sale ? 'sale' : 'incoming'},${date},${store},${item},${qty}\n`))
        await once(out, 'drain')
      written++
    }
    await new Promise<void>((resolve, reject) =>
      out.end((err?: Error | null) => (err ? reject(err) : resolve())),
    )
  }
  const byItem = new Map(
    [...levels].map(([key, level]) => [`${(key % 50) + 1}:${Math.floor(key / 50) + 1}`, level]),
  )
  return {
    files,
    rows: written,
    expectedUnits: [...levels.values()].reduce((a, b) => a + b, 0),
    levels: byItem,
  }
}
