import { describe, expect, it } from 'vitest'
import { balanceLine, balanceParams, parseBalanceQuery, periodWords } from './balance-query.ts'

describe('parseBalanceQuery', () => {
  it('reads the period, the ranges, the rows and the page', () => {
    expect(
      parseBalanceQuery({
        from: '2024-05-01',
        to: '2024-05-31',
        store: '5-8',
        item: '12',
        by: 'item',
        page: '2',
      }),
    ).toEqual({
      value: {
        from: '2024-05-01',
        to: '2024-05-31',
        store: { from: 5, to: 8 },
        item: { from: 12, to: 12 },
        by: 'item',
        page: 2,
      },
      problems: [],
    })
  })

  it('reports every bad field at once and falls back to the defaults', () => {
    const { value, problems } = parseBalanceQuery({ to: '2024-02-30', store: '9-2', by: 'day' })
    expect(value).toEqual({
      from: undefined,
      to: undefined,
      store: undefined,
      item: undefined,
      by: 'store',
      page: 1,
    })
    expect(problems).toEqual([
      "To: '2024-02-30' is not a date written as YYYY-MM-DD",
      'Store: the range 9-2 is empty (the first number must not be larger)',
      "Rows: 'day' is not one of store, item",
    ])
  })

  it('writes the query back without its defaults', () => {
    const q = parseBalanceQuery({ to: '2024-05-31', store: '5-8', page: '4' }).value
    expect(balanceParams(q)).toEqual({ to: '2024-05-31', store: '5-8', page: '4' })
    expect(balanceParams(q, { page: 1, by: 'item' })).toEqual({ to: '2024-05-31', store: '5-8', by: 'item' })
  })
})

describe('balanceLine', () => {
  it('closes at opening plus in minus out', () => {
    expect(balanceLine({ opening: 120, increases: 50, decreases: 95 })).toEqual({
      opening: 120,
      in: 50,
      out: 95,
      closing: 75,
    })
  })
  it('keeps a negative opening (movements dated before the stock that covered them)', () => {
    expect(balanceLine({ opening: -30, increases: 150, decreases: 0 }).closing).toBe(120)
  })
})

describe('periodWords', () => {
  it('names each kind of period', () => {
    expect(
      [
        { from: '2024-05-01', to: '2024-05-31' },
        { from: '2024-05-01', to: '2024-05-01' },
        { from: '2024-05-01', to: undefined },
        { from: undefined, to: '2024-05-31' },
        { from: undefined, to: undefined },
      ].map(periodWords),
    ).toEqual([
      'from 2024-05-01 to 2024-05-31',
      'on 2024-05-01',
      'from 2024-05-01 to the latest date',
      'as of the end of 2024-05-31',
      'since the first movement',
    ])
  })
})
