import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { numberedName, outputPath } from '../ledger/input-folder.ts'
import { uniquePath } from './file-lifecycle.ts'

const bytes = (path: string) => Buffer.byteLength(basename(path))

describe('file names near the 255-byte limit', () => {
  it('leaves ordinary names alone', () => {
    expect(outputPath('/in/processed/a.csv', '.receipt.json')).toBe('/in/processed/a.csv.receipt.json')
    expect(numberedName('/in/processed/a.csv', 0)).toBe('/in/processed/a.csv')
    expect(numberedName('/in/processed/a.csv', 2)).toBe('/in/processed/a-2.csv')
  })

  it('shortens outputs and numbered names that would not fit, distinctly per name and without splitting a character', () => {
    const long = `${'ü'.repeat(120)}.csv` // 244 bytes
    const receipt = outputPath(`/in/${long}`, '.receipt.json')
    const rejected = outputPath(`/in/${long}`, '.rejected.csv')
    expect([bytes(receipt) <= 255, bytes(rejected) <= 255]).toEqual([true, true])
    expect(basename(receipt)).toMatch(/^ü+~[0-9a-f]{8}\.receipt\.json$/)
    expect(basename(rejected).replace('.rejected.csv', '')).toBe(
      basename(receipt).replace('.receipt.json', ''),
    )
    expect(outputPath(`/in/${long.replace('ü', 'u')}`, '.receipt.json')).not.toBe(receipt)
    const named = numberedName(`/in/${'x'.repeat(251)}.csv`, 12)
    expect(bytes(named)).toBeLessThanOrEqual(255)
    expect(basename(named)).toMatch(/^x+~[0-9a-f]{8}-12\.csv$/)
  })

  it('never picks a name whose rejected rows are already archived', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'unique-'))
    await writeFile(join(dir, 'storeA.csv.rejected.csv'), 'kept')
    expect(await uniquePath(dir, 'storeA.csv')).toBe(join(dir, 'storeA-1.csv'))
  })
})

describe('names derived from another archive', () => {
  it('never gives a file the name of an archived file’s rejected rows, nor its receipt', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'unique-'))
    await writeFile(join(dir, 'storeA.csv'), 'kept')
    expect(await uniquePath(dir, 'storeA.csv.rejected.csv')).toBe(join(dir, 'storeA.csv.rejected-1.csv'))
    const gone = await mkdtemp(join(tmpdir(), 'unique-'))
    await writeFile(join(gone, 'storeB.csv.receipt.json'), '{}')
    expect(await uniquePath(gone, 'storeB.csv.rejected.csv')).toBe(join(gone, 'storeB.csv.rejected-1.csv'))
  })

  it('never gives a file the shortened rejected-rows name of a file whose name is near 255 bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'unique-'))
    const long = `${'ü'.repeat(120)}.csv`
    await writeFile(join(dir, long), 'kept')
    const taken = basename(outputPath(join(dir, long), '.rejected.csv'))
    const picked = await uniquePath(dir, taken)
    expect(picked).not.toBe(join(dir, taken))
    expect(picked).toBe(numberedName(join(dir, taken), 1))
  })

  it('leaves a name alone whose owner is not there', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'unique-'))
    expect(await uniquePath(dir, 'storeA.csv.rejected.csv')).toBe(join(dir, 'storeA.csv.rejected.csv'))
  })
})
