import { describe, expect, it } from 'vitest'
import { ledgerParams, parseDay, parseLedgerQuery, parsePeriod, periodBounds } from './ledger-query.ts'

describe('parseDay', () => {
  it('takes real dates written YYYY-MM-DD and refuses the rest, one message each', () => {
    const problems: string[] = []
    expect(parseDay('2024-02-29', 'From', problems)).toBe('2024-02-29')
    expect(parseDay(' 2024-05-01 ', 'From', problems)).toBe('2024-05-01')
    expect(parseDay('', 'From', problems)).toBeUndefined()
    expect(parseDay('2023-02-29', 'From', problems)).toBeUndefined()
    expect(parseDay('2024-13-01', 'To', problems)).toBeUndefined()
    expect(parseDay('01/05/2024', 'To', problems)).toBeUndefined()
    expect(parseDay('0050-01-01', 'To', problems)).toBeUndefined()
    expect(parseDay('9999-12-31', 'To', problems)).toBe('9999-12-31')
    expect(parseDay('1899-12-31', 'From', problems)).toBeUndefined()
    expect(problems).toEqual([
      "From: '2023-02-29' is not a date written as YYYY-MM-DD",
      "To: '2024-13-01' is not a date written as YYYY-MM-DD",
      "To: '01/05/2024' is not a date written as YYYY-MM-DD",
      "To: '0050-01-01' is not a date written as YYYY-MM-DD",
      "From: '1899-12-31' is out of range; give a date from 1900-01-01 to 9999-12-31",
    ])
  })
})

describe('periods', () => {
  it('includes both days whole, in UTC: the upper bound is the next midnight, excluded', () => {
    expect(periodBounds({ from: '2024-05-01', to: '2024-05-03' })).toEqual({
      since: new Date('2024-05-01T00:00:00.000Z'),
      before: new Date('2024-05-04T00:00:00.000Z'),
    })
    expect(periodBounds({ from: undefined, to: '2024-12-31' })).toEqual({
      since: undefined,
      before: new Date('2025-01-01T00:00:00.000Z'),
    })
    // The contract's last day: nothing is dated after it, and its next midnight is year 10000.
    expect(periodBounds({ from: '9999-01-01', to: '9999-12-31' })).toEqual({
      since: new Date('9999-01-01T00:00:00.000Z'),
      before: undefined,
    })
  })

  it('refuses a period that ends before it starts, and keeps its start', () => {
    const problems: string[] = []
    expect(parsePeriod({ from: '2024-05-03', to: '2024-05-01' }, problems)).toEqual({
      from: '2024-05-03',
      to: undefined,
    })
    expect(problems).toEqual(['To: 2024-05-01 is before 2024-05-03, so the period is empty'])
  })
})

describe('parseLedgerQuery', () => {
  it('reads the period, the type and the page', () => {
    expect(parseLedgerQuery({ from: '2024-05-01', to: '2024-05-01', type: 'sale', page: '2' })).toEqual({
      value: { from: '2024-05-01', to: '2024-05-01', type: 'sale', page: 2 },
      problems: [],
    })
  })

  it('reports every bad field at once', () => {
    const { value, problems } = parseLedgerQuery({ from: 'May', type: 'gift', page: 'x' })
    expect(value).toEqual({ from: undefined, to: undefined, type: undefined, page: 1 })
    expect(problems).toEqual([
      "From: 'May' is not a date written as YYYY-MM-DD",
      "Type: 'gift' is not one of incoming, sale, adjustment, transfer, reversal",
      "page: 'x' is not a page number",
    ])
  })

  it('keeps the filters in links and leaves defaults out', () => {
    const q = parseLedgerQuery({ from: '2024-05-01', type: 'incoming', page: '3' }).value
    expect(ledgerParams(q)).toEqual({ from: '2024-05-01', type: 'incoming', page: '3' })
    expect(ledgerParams(q, { page: 1 })).toEqual({ from: '2024-05-01', type: 'incoming' })
    expect(ledgerParams(parseLedgerQuery({}).value)).toEqual({})
  })
})
