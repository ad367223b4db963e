import { describe, expect, it } from 'vitest'
import { stockError } from '../schemas/payloads.ts'
import { alertText, fromError, fromLowStock, LOW_STOCK_KEY } from './rules.ts'

const rules = { errorCodes: ['*'], lowStockSeverities: ['LOW', 'OUT_OF_STOCK'] }

describe('alert rules', () => {
  it('a processing alert names the transaction, its file and line, and the command that fixes it', () => {
    const e = stockError(
      {
        error_id: 'e1',
        stage: 'process',
        code: 'INSUFFICIENT_STOCK',
        message: 'sale of 3 could not be applied after 6 attempt(s): not enough stock',
        source_file: 'north.csv',
        source_line: 7,
        movement: {
          transaction_id: '7e1b3fb4-0b4b-4a5c-9a9a-1c2d3e4f5a6b',
          event_type: 'sale',
          occurred_at: 1,
          store_number: 5,
          item_number: 12,
          quantity: 3,
        },
      },
      0,
    )
    expect(fromError(e, rules)?.line).toBe(
      'INSUFFICIENT_STOCK (store 5 item 12): transaction 7e1b3fb4-0b4b-4a5c-9a9a-1c2d3e4f5a6b from north.csv line 7: ' +
        'sale of 3 could not be applied after 6 attempt(s): not enough stock. Next: book the missing stock for ' +
        'store 5 item 12, then run stockflow redrive --code INSUFFICIENT_STOCK --store 5 --item 12',
    )
  })

  it('a refused reversal says what to do about it', () => {
    const e = (code: string) =>
      stockError(
        {
          error_id: code,
          stage: 'process',
          code,
          message: 'm',
          movement: {
            transaction_id: '7e1b3fb4-0b4b-4a5c-9a9a-1c2d3e4f5a6b',
            event_type: 'reversal',
            occurred_at: 1,
            store_number: 5,
            item_number: 12,
            quantity: 3,
            reverses: '8947695b-7f19-44b6-96b6-7f8ed041fe57',
          },
        },
        0,
      )
    const next = (code: string) => fromError(e(code), rules)?.line.split('. Next: ')[1]
    expect(next('UNKNOWN_ORIGINAL')).toBe(
      'check that 8947695b-7f19-44b6-96b6-7f8ed041fe57 is the movement to cancel; once it has been sent, run ' +
        'stockflow redrive --code UNKNOWN_ORIGINAL --store 5 --item 12',
    )
    expect(next('ALREADY_REVERSED')).toMatch(/^nothing: /)
    expect(next('REVERSAL_OF_REVERSAL')).toMatch(/new transaction_id$/)
    expect(next('REVERSAL_MISMATCH')).toMatch(/store, item and quantity$/)
  })

  it('a file refused as a whole reads as its message, without a line', () => {
    const e = stockError(
      {
        error_id: 'f1',
        stage: 'import',
        code: 'EMPTY_FILE',
        message: 'file a.csv was not imported: empty',
        source_file: 'a.csv',
      },
      0,
    )
    const item = fromError(e, rules)!
    expect([item.key, item.line]).toEqual(['import:a.csv', 'file a.csv was not imported: empty'])
    expect(
      alertText({
        key: item.key,
        kind: 'error',
        severity: 'warning',
        lines: [item.line],
        count: 1,
        codes: {},
      }),
    ).toBe('file a.csv was not imported: empty')
  })

  it('a file with bad rows is one digest: every code with its count, the first lines, and the rejected CSV', () => {
    const text = alertText({
      key: 'import:north.csv',
      kind: 'error',
      severity: 'warning',
      lines: ['line 4 INVALID_UUID: a', 'line 5 INVALID_DATE: b', 'line 9 INVALID_UUID: c'],
      count: 4,
      codes: { INVALID_UUID: 3, INVALID_DATE: 1 },
    })
    expect(text).toBe(
      '4 rows rejected from file north.csv (INVALID_UUID=3, INVALID_DATE=1); first lines: line 4 INVALID_UUID: a; ' +
        'line 5 INVALID_DATE: b; line 9 INVALID_UUID: c. Fix them in processed/north.csv.rejected.csv and drop it ' +
        'into the input folder again.',
    )
  })

  it('names the archive the importer recorded for the file, when it recorded one', () => {
    const text = alertText({
      key: 'import:stock.csv',
      kind: 'error',
      severity: 'warning',
      lines: ['line 2 INVALID_UUID: a', 'line 3 INVALID_UUID: b'],
      count: 2,
      codes: { INVALID_UUID: 2 },
      rejectedCsv: 'processed/stock-1.csv.rejected.csv',
    })
    expect(text).toContain('Fix them in processed/stock-1.csv.rejected.csv and drop it')
  })

  it('keeps the import key of a rejected row, and of no file-level failure', () => {
    const row = stockError(
      {
        error_id: 'r',
        stage: 'import',
        code: 'INVALID_UUID',
        message: 'x',
        source_file: 'a.csv',
        source_line: 4,
      },
      0,
    )
    expect(fromError(row, rules, 'abc')?.fileClaim).toBe('abc')
    expect(fromError({ ...row, source_line: null }, rules, 'abc')?.fileClaim).toBeUndefined()
  })

  it('a single rejected row names its file and code, and where to fix it, as a digest does', () => {
    const row = stockError(
      {
        error_id: 'r1',
        stage: 'import',
        code: 'INVALID_UUID',
        message: "'abc' is not a UUID",
        source_file: 'north.csv',
        source_line: 4,
      },
      0,
    )
    const item = fromError(row, rules, 'claim')!
    expect(item.sourceLine).toBe(4)
    const group = {
      key: item.key,
      kind: 'error',
      severity: 'warning',
      lines: [item.line],
      count: 1,
      codes: { INVALID_UUID: 1 },
      rows: 1,
    }
    expect(alertText(group)).toBe(
      "1 row rejected from file north.csv (INVALID_UUID): line 4 INVALID_UUID: 'abc' is not a UUID. " +
        'Fix it in processed/north.csv.rejected.csv and drop it into the input folder again.',
    )
    expect(alertText({ ...group, rejectedCsv: 'processed/north-1.csv.rejected.csv' })).toContain(
      'Fix it in processed/north-1.csv.rejected.csv and drop it',
    )
    expect(alertText({ ...group, fileFailed: true })).toBe(
      "1 row rejected from file north.csv (INVALID_UUID): line 4 INVALID_UUID: 'abc' is not a UUID. " +
        'The file failed as a whole (its own alert says why): fix this row in the file itself and drop it again.',
    )
    // A file refused as a whole is no row: it keeps its own message, which names the file.
    const whole = fromError(
      { ...row, code: 'MISSING_COLUMNS', source_line: null, message: 'file north.csv was not imported: x' },
      rules,
    )!
    expect(whole.sourceLine).toBeUndefined()
    expect(alertText({ ...group, lines: [whole.line], codes: { MISSING_COLUMNS: 1 }, rows: 0 })).toBe(
      'file north.csv was not imported: x',
    )
  })

  it('low-stock events share one key per window and carry their store, item and episode', () => {
    const item = fromLowStock(
      {
        event_id: '5:12:3:OUT_OF_STOCK',
        episode: 3,
        severity: 'OUT_OF_STOCK',
        store_number: 5,
        item_number: 12,
        quantity: 0,
        threshold: 10,
        transaction_id: '7e1b3fb4-0b4b-4a5c-9a9a-1c2d3e4f5a6b',
        occurred_at: 1,
        detected_at: 2,
      },
      rules,
    )!
    expect(item).toEqual({
      sourceId: 'low-stock:5:12:3:OUT_OF_STOCK',
      key: LOW_STOCK_KEY,
      kind: 'low-stock',
      severity: 'critical',
      line: 'store 5 item 12 is OUT OF STOCK',
      lowStock: { store: 5, item: 12, episode: 3 },
    })
  })
})
