import { describe, expect, it } from 'vitest'
import { paging, parseRange, parseStockQuery, sortLink, stockQueryString } from './stock-query.ts'

describe('parseStockQuery', () => {
  it('reads ranges, filters, sort and page from the URL', () => {
    const { value, problems } = parseStockQuery({
      store: '3',
      item: '1000-1999',
      state: 'low',
      sort: 'quantity',
      dir: 'desc',
      page: '4',
    })
    expect(problems).toEqual([])
    expect(value).toEqual({
      store: { from: 3, to: 3 },
      item: { from: 1000, to: 1999 },
      state: 'low',
      sort: 'quantity',
      dir: 'desc',
      page: 4,
    })
  })

  it('reports every bad field at once and falls back to defaults for them', () => {
    const { value, problems } = parseStockQuery({ store: 'abc', item: '9-2', sort: 'price', page: '0' })
    expect(problems).toEqual([
      "Store: 'abc' is not a number or a range such as 10-20",
      'Item: the range 9-2 is empty (the first number must not be larger)',
      "Sort: 'price' is not one of store, item, quantity, updated",
      "page: '0' is not a page number",
    ])
    expect(value).toMatchObject({ store: undefined, item: undefined, sort: 'store', page: 1 })
  })

  it('takes the first of a repeated parameter', () => {
    expect(parseStockQuery({ store: ['5', '6'] }).value.store).toEqual({ from: 5, to: 5 })
  })

  it('refuses numbers beyond a 32-bit integer', () => {
    const problems: string[] = []
    expect(parseRange('1-9999999999', 'Store', problems)).toBeUndefined()
    expect(problems).toEqual(['Store: numbers go up to 2147483647'])
  })
})

describe('links', () => {
  const q = parseStockQuery({ store: '1-5', state: 'out', page: '3' }).value
  it('leaves defaults out of the query string, so shared links stay short', () => {
    expect(stockQueryString(q)).toBe('?store=1-5&state=out&page=3')
    expect(stockQueryString(parseStockQuery({}).value)).toBe('')
  })
  it('sorts by a column from page 1, and a second click reverses it', () => {
    expect(sortLink(q, 'quantity')).toBe('?store=1-5&state=out&sort=quantity')
    const sorted = parseStockQuery({ sort: 'quantity' }).value
    expect(sortLink(sorted, 'quantity')).toBe('?sort=quantity&dir=desc')
  })
})

describe('paging', () => {
  it('shows the last page for a page past the end, and one empty page for no rows', () => {
    expect(paging(101, 9, 50)).toEqual({ page: 3, pages: 3, offset: 100, total: 101 })
    expect(paging(0, 1, 50)).toEqual({ page: 1, pages: 1, offset: 0, total: 0 })
  })
})
