// Seeded input for the chaos run, with the ground truth for every row.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { HEADER, prng } from '../../bench/generate.ts'
import { CORRECTIONS_HEADER, type CorrectionTruth, createCorrections } from './corrections.ts'
import { addHostileFiles } from './hostile-files.ts'

export interface GroundTruth {
  /** Valid rows whose stock arrives: each must end in the journal, once. */
  applied: Set<string>
  /** Valid sales that can never be covered: each must end in failed_movements and on `errors`. */
  failing: Set<string>
  /** Invalid rows: file, line and the code the importer must give. */
  invalid: { file: string; line: number; code: string }[]
  /** Expected final stock per "store:item". */
  stock: Map<string, number>
  /** `nameBytes`: the name on disk, when it is not UTF-8. */
  files: { name: string; nameBytes?: Buffer; content: string }[]
  rows: number
  corrections: CorrectionTruth
}

function uuidFrom(rand: () => number): string {
  const h = () =>
    Math.floor(rand() * 0x10000)
      .toString(16)
      .padStart(4, '0')
  return `${h()}${h()}-${h()}-4${h().slice(1)}-8${h().slice(1)}-${h()}${h()}${h()}`
}

/**
 * Builds `events` rows over `items` keys in `fileCount` files. Per key, stock always arrives in the same
 * file as the sales it covers, sometimes just after a sale (so that sale is parked first). Store 99 only
 * ever sees sales: those are the sales that can never be satisfied.
 */
export function generateChaosInput(
  seed: number,
  events: number,
  fileCount: number,
  items = 200,
): GroundTruth {
  const rand = prng(seed)
  const truth: GroundTruth = {
    applied: new Set(),
    failing: new Set(),
    invalid: [],
    stock: new Map(),
    files: [],
    rows: 0,
    corrections: undefined as unknown as CorrectionTruth,
  }
  const perFile = Math.ceil(events / fileCount)
  const date = (n: number) => new Date(Date.UTC(2024, 0, 1) + n * 1000).toISOString().replace('.000Z', 'Z')
  // Rows of earlier files only: a repeat within one file would be a DUPLICATE_IN_FILE rejection instead.
  const earlier: string[] = []
  let n = 0
  const corrections = createCorrections(
    truth,
    rand,
    () => uuidFrom(rand),
    () => date(n),
  )
  truth.corrections = corrections.extra
  // Dropped first, so it is imported and applied early and the run reverts it while the faults go on.
  truth.files.push(corrections.revertFile())
  for (let f = 0; f < fileCount; f++) {
    const name = `chaos-${String(f).padStart(3, '0')}.csv`
    // Every other file has the correction columns (and the corrections); the rest keep the seed's six.
    const wide = f % 2 === 0
    const lines = [wide ? CORRECTIONS_HEADER : HEADER]
    const current: string[] = []
    const add = (line: string) => {
      lines.push(wide && line.split(',').length === 6 ? `${line},,` : line)
      n++
    }
    while (lines.length - 1 < perFile && n < events) {
      const r = rand()
      const key = Math.floor(rand() * items)
      const store = (key % 10) + 1
      const item = Math.floor(key / 10) + 1
      const k = `${store}:${item}`
      const qty = 1 + Math.floor(rand() * 9)
      const level = truth.stock.get(k) ?? 0
      if (r < 0.03) {
        // Invalid rows, each with the code the importer must report.
        const kind = Math.floor(rand() * 3)
        const bad = [
          { line: `not-a-uuid,sale,${date(n)},${store},${item},${qty}`, code: 'INVALID_UUID' },
          { line: `${uuidFrom(rand)},sale,${date(n)},${store},${item},1.5`, code: 'INVALID_QUANTITY' },
          { line: `${uuidFrom(rand)},refund,${date(n)},${store},${item},${qty}`, code: 'UNKNOWN_EVENT_TYPE' },
        ][kind]!
        add(bad.line)
        truth.invalid.push({ file: name, line: lines.length, code: bad.code })
      } else if (r < 0.04) {
        const id = uuidFrom(rand)
        add(`${id},sale,${date(n)},99,${item},${qty}`)
        truth.failing.add(id)
      } else if (r < 0.06 && earlier.length > 0) {
        // The same row again, in a later file: an identical duplicate, applied once.
        add(earlier[Math.floor(rand() * earlier.length)]!)
      } else if (r < 0.16) {
        // A sale that arrives just before the stock that covers it.
        const sale = uuidFrom(rand)
        const inc = uuidFrom(rand)
        const sLine = `${sale},sale,${date(n)},${store},${item},${qty}`
        add(sLine)
        add(`${inc},incoming,${date(n)},${store},${item},${qty}`)
        truth.applied.add(sale)
        truth.applied.add(inc)
        truth.stock.set(k, level)
      } else if (wide && r < 0.26) {
        corrections.next(add, f)
      } else if (r < 0.5 && level >= qty) {
        const id = uuidFrom(rand)
        const line = `${id},sale,${date(n)},${store},${item},${qty}`
        add(line)
        truth.applied.add(id)
        truth.stock.set(k, level - qty)
        current.push(line)
      } else {
        const id = uuidFrom(rand)
        const line = `${id},incoming,${date(n)},${store},${item},${qty}`
        add(line)
        truth.applied.add(id)
        truth.stock.set(k, level + qty)
        current.push(line)
      }
    }
    earlier.push(...current)
    truth.files.push({ name, content: `${lines.join('\n')}\n` })
  }
  truth.rows = n
  addHostileFiles(truth)
  return truth
}

/** Writes the files to `dir`; returns their paths, as bytes for a name that is not UTF-8. */
export async function writeChaosFiles(dir: string, truth: GroundTruth): Promise<(string | Buffer)[]> {
  const paths: (string | Buffer)[] = []
  for (const f of truth.files) {
    const p = f.nameBytes ? Buffer.concat([Buffer.from(`${dir}/`), f.nameBytes]) : join(dir, f.name)
    await writeFile(p, f.content)
    paths.push(p)
  }
  return paths
}
