import { text } from 'node:stream/consumers'
import { describe, expect, it } from 'vitest'
import { csvCell, csvLine, exportName, exportQuery, filterWords, openCsv } from './csv-export.ts'

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

describe('openCsv', () => {
  it('writes the header, then every batch, in order', async () => {
    async function* batches() {
      yield [{ n: 1, s: 'a' }]
      yield []
      yield [
        { n: -2, s: '=b' },
        { n: 3, s: 'c,d' },
      ]
    }
    const out = await text(await openCsv(['n', 's'], batches(), (r) => [r.n, r.s]))
    expect(out).toBe('n,s\r\n1,a\r\n-2,\'=b\r\n3,"c,d"\r\n')
  })

  it('writes the header alone when there are no rows', async () => {
    async function* none(): AsyncGenerator<{ n: number }[]> {}
    expect(await text(await openCsv(['n'], none(), (r) => [r.n]))).toBe('n\r\n')
  })

  it('fails before any byte is sent when the first batch cannot be read', async () => {
    const broken = (): AsyncIterable<{ n: number }[]> => ({
      [Symbol.asyncIterator]: () => ({
        next: () => Promise.reject(new Error('relation does not exist')),
      }),
    })
    await expect(openCsv(['n'], broken(), (r) => [r.n])).rejects.toThrow('relation does not exist')
  })
})

describe('exportName', () => {
  it('keeps letters, digits, dots and dashes, and leaves out empty parts', () => {
    expect(exportName(['ledger', 'store', 5, 'item', 12, '2024-05-01', undefined, ''])).toBe(
      'ledger-store-5-item-12-2024-05-01.csv',
    )
    expect(exportName(['balance', 'a b/c"d'])).toBe('balance-a-b-c-d.csv')
  })

  it('leaves the page out of an export query, so any page links to the same whole file', () => {
    expect(exportQuery({ store: '1', page: '0' })).toEqual({ store: '1' })
  })

  it('names each filter, so a from and a to of the same date give two names', () => {
    const name = (p: Record<string, string>) => exportName(['ledger-store', 1, 'item', 10, filterWords(p)])
    expect([name({ from: '2024-01-02' }), name({ to: '2024-01-02' }), name({})]).toEqual([
      'ledger-store-1-item-10-from-2024-01-02.csv',
      'ledger-store-1-item-10-to-2024-01-02.csv',
      'ledger-store-1-item-10.csv',
    ])
    expect(exportName(['balance', filterWords({ store: '1', by: 'item' })])).toBe(
      'balance-store-1-by-item.csv',
    )
  })
})

describe('openCsv, given up on', () => {
  it('closes the cursor when the download is abandoned', async () => {
    let closed = false
    async function* endless() {
      try {
        for (let n = 0; ; n++) yield [{ n }]
      } finally {
        closed = true
      }
    }
    const stream = await openCsv(['n'], endless(), (r) => [r.n])
    for await (const _ of stream) break
    expect(closed).toBe(true)
  })
})
