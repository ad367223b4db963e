import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { csvTextCell as csvCell, neutraliseCell, restoreCell } from '../ledger/csv-guard.ts'
import { RejectedCsv } from './receipt.ts'

describe('rejected CSV cells', () => {
  it('neutralises spreadsheet formulas', () => {
    expect(['=HYPERLINK("x")', '+1', '-2', '@SUM(A1)', '\t=1', 'plain'].map(neutraliseCell)).toEqual([
      '\'=HYPERLINK("x")',
      "'+1",
      "'-2",
      "'@SUM(A1)",
      "'\t=1",
      'plain',
    ])
  })
  it('quotes cells with delimiters, quotes and newlines', () => {
    expect(csvCell('a,b')).toBe('"a,b"')
    expect(csvCell('say "x"')).toBe('"say ""x"""')
    expect(csvCell('=1,2')).toBe('"\'=1,2"')
  })

  it('restores neutralised cells of a repaired file, and leaves every other cell alone', () => {
    const cells = ['=HYPERLINK("x")', '+1', '-2', '@SUM(A1)', '\t=1', 'plain', "'quoted", "it's"]
    expect(cells.map(neutraliseCell).map(restoreCell)).toEqual(cells)
  })
})

describe('RejectedCsv', () => {
  it('turns a name the file system refuses into a rejected promise, not an uncaught stream error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rejected-'))
    const csv = new RejectedCsv(`${dir}/${'n'.repeat(256)}.rejected.csv`, ['a'])
    await expect(csv.add(['1'], '1', 'X: y')).rejects.toMatchObject({ code: 'ENAMETOOLONG' })
  })
})
