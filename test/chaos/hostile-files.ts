// Files that once lost rows, stalled or crash-looped the importer, dropped among the chaos run's own: a
// stray quote, rejections too large for one produce request, a name near the 255-byte limit and a name
// that is not UTF-8. Their valid rows are incomings to stores 9101-9104, which nothing else touches.
import { HEADER } from '../../bench/generate.ts'
import type { GroundTruth } from './generate.ts'

function uuid(file: number, row: number): string {
  return `${String(9100 + file).padStart(8, '0')}-0000-4000-8000-${String(row).padStart(12, '0')}`
}

/** Adds the hostile files, their valid rows and their rejections to `truth`. */
export function addHostileFiles(truth: GroundTruth): void {
  const date = '2024-02-01T00:00:00Z'
  const valid = (file: number, row: number, note = 'ok') => {
    const id = uuid(file, row)
    const store = 9100 + file
    const key = `${store}:${(row % 5) + 1}`
    truth.applied.add(id)
    truth.stock.set(key, (truth.stock.get(key) ?? 0) + 2)
    return `${id},incoming,${date},${store},${(row % 5) + 1},2,${note}`
  }
  const files: { name: string; nameBytes?: Buffer; lines: string[]; invalid: [number, string][] }[] = []

  // 1. Stray quotes in a note column: the rows between them are valid and must not be swallowed.
  const stray = [`${HEADER},note`]
  const strayBad: [number, string][] = []
  for (let r = 1; r <= 40; r++) {
    if (r % 8 === 1) {
      stray.push(`${uuid(1, r)},incoming,${date},9101,1,2,12" pipe`)
      strayBad.push([stray.length, 'MALFORMED_QUOTES'])
    } else stray.push(valid(1, r))
  }
  files.push({ name: 'hostile-stray-quote.csv', lines: stray, invalid: strayBad })

  // 2. A thousand rejections of 4 KB each, all keyed by one file: more than one request can carry.
  const big = [`${HEADER},note`]
  const bigBad: [number, string][] = []
  const note = 'n'.repeat(4096)
  for (let r = 1; r <= 1000; r++) {
    big.push(`${uuid(2, r)},incoming,01/02/2024 10:00,9102,1,2,${note}`)
    bigBad.push([big.length, 'INVALID_DATE'])
  }
  big.push(valid(2, 1001))
  files.push({ name: 'hostile-oversized-errors.csv', lines: big, invalid: bigBad })

  // 3. A name of 244 bytes: its receipt and rejected rows cannot simply append their suffixes.
  const long = [`${HEADER},note`, valid(3, 1), `not-a-uuid,incoming,${date},9103,1,2,x`, valid(3, 2)]
  files.push({ name: `hostile-${'L'.repeat(232)}.csv`, lines: long, invalid: [[3, 'INVALID_UUID']] })

  // 4. A Windows-1252 name (ü is the byte 0xfc).
  const latin = [`${HEADER},note`, valid(4, 1), valid(4, 2)]
  files.push({
    name: 'hostile-Lager_Müller.csv',
    nameBytes: Buffer.from('hostile-Lager_Müller.csv', 'latin1'),
    lines: latin,
    invalid: [],
  })

  for (const f of files) {
    truth.files.push({ name: f.name, nameBytes: f.nameBytes, content: `${f.lines.join('\n')}\n` })
    for (const [line, code] of f.invalid) truth.invalid.push({ file: f.name, line, code })
    truth.rows += f.lines.length - 1
  }
}
