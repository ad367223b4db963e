import { text } from 'node:stream/consumers'
import { describe, expect, it } from 'vitest'
import { csvCell, csvLine, csvStream, exportName } from './csv-export.ts'

describe('csvCell', () => {
  it('guards text a spreadsheet would run as a formula, as the rejected-rows file does', () => {
    expect(['=HYPERLINK("x")', '+1', '-2', '@SUM(A1)', '\t=1', '\r=1', 'plain'].map(csvCell)).toEqual([
      '"\'=HYPERLINK(""x"")"',
      "'+1",
      "'-2",
      "'@SUM(A1)",
      "'\t=1",
      '"\'\r=1"',
      'plain',
    ])
  })

  it('writes numbers as numbers, dates in UTC, and nothing for null', () => {
    expect([-5, 0, 41_000, 12n, new Date('2024-05-01T13:00:00Z'), null, undefined].map(csvCell)).toEqual([
      '-5',
      '0',
      '41000',
      '12',
      '2024-05-01T13:00:00.000Z',
      '',
      '',
    ])
  })

  it('quotes commas, quotes and line breaks', () => {
    expect(csvLine(['a,b', 'say "x"', 'two\nlines', 3])).toBe('"a,b","say ""x""","two\nlines",3\r\n')
  })
})

describe('csvStream', () => {
  it('writes the header, then every batch, in order', async () => {
    async function* batches() {
      yield [{ n: 1, s: 'a' }]
      yield []
      yield [
        { n: -2, s: '=b' },
        { n: 3, s: 'c,d' },
      ]
    }
    const out = await text(csvStream(['n', 's'], batches(), (r) => [r.n, r.s]))
    expect(out).toBe('n,s\r\n1,a\r\n-2,\'=b\r\n3,"c,d"\r\n')
  })
})

describe('exportName', () => {
  it('keeps letters, digits, dots and dashes, and leaves out empty parts', () => {
    expect(exportName(['ledger', 'store', 5, 'item', 12, '2024-05-01', undefined, ''])).toBe(
      'ledger-store-5-item-12-2024-05-01.csv',
    )
    expect(exportName(['balance', 'a b/c"d'])).toBe('balance-a-b-c-d.csv')
  })
})
