// An archive always matches its receipt (#23): a repaired `x.csv.rejected.csv` archived first keeps its
// name when `x.csv` later has rejected rows, and neither takes a name derived from the other's archive.
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Receipt } from '../ledger/input-folder.ts'
import { findReceipt, placeUpload } from '../web/input-files.ts'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { type RunningImporter, startImporter } from './support/importer.ts'

const HEADER = 'transaction_id,event_type,date,store_number,item_number,value'
const row = (n: number) =>
  `c0ffee00-0000-4000-8000-${String(n).padStart(12, '0')},incoming,2024-01-01T00:00:00Z,1,${n},5`
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')

describe('importer: archive names derived from another archive', () => {
  let ctx: TestContext
  let running: RunningImporter
  let inputDir: string

  beforeAll(async () => {
    inputDir = await mkdtemp(join(tmpdir(), 'stockflow-archive-names-'))
    ctx = await createTestContext('importer_archive_names', { INPUT_DIR: inputDir, IMPORT_SETTLE_MS: '100' })
    running = await startImporter(ctx)
  })
  afterAll(async () => {
    await running.stop()
    await ctx.close()
  })

  const readReceipt = async (path: string): Promise<Receipt> => JSON.parse(await readFile(path, 'utf8'))
  const waitForReceipt = (path: string) =>
    pollUntil(`receipt ${path}`, () => readReceipt(path).catch(() => undefined), { timeoutMs: 60_000 })
  const upload = (name: string, text: string) =>
    placeUpload(inputDir, name, Readable.from([Buffer.from(text)]), ctx.config.importer.maxFileBytes)

  /** Every receipt in `dir` sits beside the bytes it describes, and its rejected rows are nobody's archive. */
  async function expectArchivesMatchReceipts(dir: string): Promise<[string, Receipt][]> {
    const names = await readdir(dir)
    const receipts: [string, Receipt][] = []
    for (const name of names.filter((n) => n.endsWith('.receipt.json'))) {
      const receipt = await readReceipt(join(dir, name))
      const archive = name.slice(0, -'.receipt.json'.length)
      expect(sha256(await readFile(join(dir, archive)))).toBe(receipt.sha256)
      if (receipt.rejected_csv) {
        expect(names).toContain(receipt.rejected_csv)
        expect(names).not.toContain(`${receipt.rejected_csv}.receipt.json`)
        expect((await readFile(join(dir, receipt.rejected_csv), 'utf8')).split('\n')[0]).toBe(
          `${HEADER},error`,
        )
      }
      receipts.push([archive, receipt])
    }
    return receipts
  }

  it('the exact sequence of #23: a fixed storeA.csv.rejected.csv uploaded, then storeA.csv with a bad row', async () => {
    const fixed = `${HEADER},error\n${row(1)},\n${row(2)},\n`
    expect(await upload('storeA.csv.rejected.csv', fixed)).toBe(join('uploads', 'storeA.csv.rejected.csv'))
    const processed = join(inputDir, 'processed', 'uploads')
    const first = await waitForReceipt(join(processed, 'storeA.csv.rejected.csv.receipt.json'))
    expect(first).toMatchObject({ file: 'uploads/storeA.csv.rejected.csv', rows_read: 2, rows_accepted: 2 })

    const withBadRow = `${HEADER}\n${row(3)}\nnot-a-uuid,incoming,2024-01-01T00:00:00Z,1,4,5\n`
    expect(await upload('storeA.csv', withBadRow)).toBe(join('uploads', 'storeA.csv'))
    const second = await waitForReceipt(join(processed, 'storeA-1.csv.receipt.json'))
    expect(second).toMatchObject({
      file: 'uploads/storeA.csv',
      status: 'processed',
      rows_read: 2,
      rows_accepted: 1,
      rows_rejected: 1,
      rejected_csv: 'storeA-1.csv.rejected.csv',
    })

    // The first archive is untouched: the same bytes, beside the receipt that describes them.
    expect(await readFile(join(processed, 'storeA.csv.rejected.csv'), 'utf8')).toBe(fixed)
    expect(await readFile(join(processed, 'storeA-1.csv'), 'utf8')).toBe(withBadRow)
    // The bad row with its line in the original file, first in its error cell.
    expect((await readFile(join(processed, 'storeA-1.csv.rejected.csv'), 'utf8')).split('\n')[1]).toMatch(
      /^not-a-uuid,incoming,2024-01-01T00:00:00Z,1,4,5,line 3 INVALID_UUID: /,
    )
    expect((await readdir(processed)).sort()).toEqual([
      'storeA-1.csv',
      'storeA-1.csv.receipt.json',
      'storeA-1.csv.rejected.csv',
      'storeA.csv.rejected.csv',
      'storeA.csv.rejected.csv.receipt.json',
    ])
    await expectArchivesMatchReceipts(processed)

    // The console finds each import's own receipt and rejected rows.
    const outcomes = await ctx.sql`
      select file_name, sha256, status, started_at, rejected_csv from import_outcomes order by id`
    expect(outcomes.map((o) => [o.file_name, o.rejected_csv])).toEqual([
      ['uploads/storeA.csv.rejected.csv', null],
      ['uploads/storeA.csv', 'processed/uploads/storeA-1.csv.rejected.csv'],
    ])
    const found = await Promise.all(
      outcomes.map((o) =>
        findReceipt(inputDir, {
          file_name: o.file_name as string,
          sha256: o.sha256 as string,
          status: o.status as string,
          started_at: o.started_at as Date,
        }),
      ),
    )
    expect(found.map((f) => [f?.path, f?.rejectedPath])).toEqual([
      [join(processed, 'storeA.csv.rejected.csv'), undefined],
      [join(processed, 'storeA-1.csv'), join(processed, 'storeA-1.csv.rejected.csv')],
    ])
  })

  it('the other order: a repaired file does not take the rejected-rows name of an archive before it', async () => {
    const dir = join(inputDir, 'reverse')
    await mkdir(dir)
    const clean = `${HEADER}\n${row(10)}\n`
    await writeFile(join(dir, 'storeB.csv'), clean)
    const processed = join(inputDir, 'processed', 'reverse')
    await waitForReceipt(join(processed, 'storeB.csv.receipt.json'))
    const repaired = `${HEADER},error\n${row(11)},\n`
    await writeFile(join(dir, 'storeB.csv.rejected.csv'), repaired)
    const receipt = await waitForReceipt(join(processed, 'storeB.csv.rejected-1.csv.receipt.json'))
    expect(receipt).toMatchObject({ file: 'reverse/storeB.csv.rejected.csv', rows_accepted: 1 })
    expect((await readdir(processed)).sort()).toEqual([
      'storeB.csv',
      'storeB.csv.receipt.json',
      'storeB.csv.rejected-1.csv',
      'storeB.csv.rejected-1.csv.receipt.json',
    ])
    expect(await readFile(join(processed, 'storeB.csv.rejected-1.csv'), 'utf8')).toBe(repaired)
    await expectArchivesMatchReceipts(processed)
  })

  it('both dropped at once, in whichever order they are taken: every archive matches its receipt', async () => {
    const dir = join(inputDir, 'race')
    await mkdir(dir)
    const withBadRow = `${HEADER}\n${row(20)}\nc0ffee00-0000-4000-8000-000000000021,incoming,2024-01-01T00:00:00Z,1,21,-5\n`
    const repaired = `${HEADER},error\n${row(22)},\n`
    await Promise.all([
      writeFile(join(dir, 'storeC.csv'), withBadRow),
      writeFile(join(dir, 'storeC.csv.rejected.csv'), repaired),
    ])
    const processed = join(inputDir, 'processed', 'race')
    await pollUntil(
      'both receipts',
      async () =>
        (await readdir(processed).catch(() => [])).filter((n) => n.endsWith('.receipt.json')).length === 2,
      { timeoutMs: 60_000 },
    )
    const archives = await expectArchivesMatchReceipts(processed)
    expect(archives.map(([, r]) => [r.file, r.rows_accepted, r.rows_rejected]).sort()).toEqual([
      ['race/storeC.csv', 1, 1],
      ['race/storeC.csv.rejected.csv', 1, 0],
    ])
    expect(await readdir(processed)).toHaveLength(5)
    const archiveOf = new Map(archives.map(([name, r]) => [r.file, { name, receipt: r }]))
    const original = archiveOf.get('race/storeC.csv')!
    const fixed = archiveOf.get('race/storeC.csv.rejected.csv')!
    expect(await readFile(join(processed, original.name), 'utf8')).toBe(withBadRow)
    expect(await readFile(join(processed, fixed.name), 'utf8')).toBe(repaired)
    expect(await readFile(join(processed, original.receipt.rejected_csv!), 'utf8')).toContain(",'-5,")
    expect(original.receipt.rejected_csv).not.toBe(fixed.name)
  })
})
