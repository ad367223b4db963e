import { describe, expect, it } from 'vitest'
import { restoreCell as unguardCell } from '../ledger/csv-guard.ts'
import { dataColumns, joinCsvLine, rejectedRowView, splitError } from './rejected-rows.ts'

const HEADER = ['transaction_id', 'event_type', 'date', 'store_number', 'item_number', 'value', 'error']

describe('unguardCell', () => {
  it('shows a guarded value as it was written', () => {
    expect(unguardCell("'-3")).toBe('-3')
    expect(unguardCell("'=SUM(A1:A2)")).toBe('=SUM(A1:A2)')
    expect(unguardCell("'+49 30 1234")).toBe('+49 30 1234')
    expect(unguardCell("'@home")).toBe('@home')
    expect(unguardCell("'\t5")).toBe('\t5')
  })
  it('leaves every other value alone', () => {
    expect(unguardCell('-3')).toBe('-3')
    expect(unguardCell("'quoted'")).toBe("'quoted'")
    expect(unguardCell("O'Brien")).toBe("O'Brien")
    expect(unguardCell('')).toBe('')
    expect(unguardCell("'")).toBe("'")
  })
})

describe('splitError', () => {
  it('takes the code before the first colon', () => {
    expect(splitError("INVALID_DATE: date '01/03/2024' is not ISO-8601: use 2024-03-01T09:30:00Z")).toEqual({
      line: undefined,
      code: 'INVALID_DATE',
      reason: "date '01/03/2024' is not ISO-8601: use 2024-03-01T09:30:00Z",
    })
  })
  it('keeps text without a code as the reason', () => {
    expect(splitError('something odd')).toEqual({ line: undefined, code: '', reason: 'something odd' })
    expect(splitError('')).toEqual({ line: undefined, code: '', reason: '' })
  })
  it('reads the line the importer writes before the code', () => {
    expect(splitError('line 4211 FIELD_COUNT: expected 6 fields, got 7')).toEqual({
      line: 4211,
      code: 'FIELD_COUNT',
      reason: 'expected 6 fields, got 7',
    })
  })
})

describe('joinCsvLine', () => {
  it('quotes only the fields that need it', () => {
    expect(joinCsvLine(['a', 'b,c', 'say "hi"', 'x\ny'])).toBe('a,"b,c","say ""hi""","x\ny"')
  })
})

describe('rejectedRowView', () => {
  it('puts a row that fits the columns in them, with the guard taken off', () => {
    const record = [
      'id-5',
      'sale',
      '2024-05-01T08:00:00Z',
      '80',
      '1',
      "'-3",
      "INVALID_QUANTITY: value '-3' is bad",
    ]
    expect(rejectedRowView(HEADER, record, 5)).toEqual({
      line: 5,
      cells: ['id-5', 'sale', '2024-05-01T08:00:00Z', '80', '1', '-3'],
      raw: undefined,
      rawCut: 0,
      code: 'INVALID_QUANTITY',
      reason: "value '-3' is bad",
    })
  })

  it("takes the row's line from its error cell over the receipt's list", () => {
    const record = [
      'id-5',
      'sale',
      '2024-05-01T08:00:00Z',
      '80',
      '1',
      'x',
      "line 150 INVALID_QUANTITY: value 'x' is bad",
    ]
    expect(rejectedRowView(HEADER, record, undefined)).toMatchObject({ line: 150, code: 'INVALID_QUANTITY' })
  })

  it('shows a row that could not be split as its raw line, never the reason in a data column', () => {
    const raw = 'id-3,sale,2024-05-01T08:00:00Z,80,1,12" pipe'
    const view = rejectedRowView(HEADER, [raw, 'MALFORMED_QUOTES: Invalid Opening Quote'], 3)
    expect(view).toEqual({
      line: 3,
      cells: undefined,
      raw,
      rawCut: 0,
      code: 'MALFORMED_QUOTES',
      reason: 'Invalid Opening Quote',
    })
  })

  it('shows a row with too few or too many fields as the line its fields make', () => {
    const short = [
      'id-4',
      'sale',
      '2024-05-01T08:00:00Z',
      '80',
      '1',
      'FIELD_COUNT: expected 6 fields, found 5',
    ]
    expect(rejectedRowView(HEADER, short, 4)).toMatchObject({
      cells: undefined,
      raw: 'id-4,sale,2024-05-01T08:00:00Z,80,1',
      code: 'FIELD_COUNT',
      reason: 'expected 6 fields, found 5',
    })
    const long = ['id', 'sale', 'd', '80', '1', "'-2", 'a,b', 'FIELD_COUNT: expected 6 fields, found 7']
    expect(rejectedRowView(HEADER, long, undefined)).toMatchObject({
      line: undefined,
      raw: 'id,sale,d,80,1,-2,"a,b"',
    })
  })

  it('cuts a very long raw line and says by how much', () => {
    const view = rejectedRowView(HEADER, ['x'.repeat(25), 'ROW_TOO_LARGE: row is longer'], 9, 10)
    expect(view.raw).toBe('x'.repeat(10))
    expect(view.rawCut).toBe(15)
  })

  it('reads the data columns off the header, guard taken off', () => {
    expect(dataColumns(['a', "'=b", 'error'])).toEqual(['a', '=b'])
  })
})
