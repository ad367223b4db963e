import { describe, expect, it } from 'vitest'
import { fileFailure } from './outcomes.ts'
import { refusedReceipt, rejectedReceipt } from './receipt.ts'

const now = Date.parse('2024-05-01T10:00:00Z')

describe('a file refused as a whole', () => {
  it('becomes one import error that names the file and its code, with no line', () => {
    const receipt = rejectedReceipt(
      'north/stock.csv',
      'MISSING_COLUMNS',
      'missing required column(s): value',
      now,
    )
    const e = fileFailure(receipt, { key: 'abc:1:2:3' }, now)!
    expect([e.stage, e.code, e.source_file, e.source_line, e.message]).toEqual([
      'import',
      'MISSING_COLUMNS',
      'north/stock.csv',
      null,
      'file north/stock.csv was not imported: missing required column(s): value',
    ])
    // The same file fails with the same id however often it is tried, and another file with another.
    expect(fileFailure(receipt, { key: 'abc:1:2:3' }, now + 5000)!.error_id).toBe(e.error_id)
    expect(fileFailure(receipt, { key: 'abc:1:2:4' }, now)!.error_id).not.toBe(e.error_id)
  })

  it('is nothing for a file that was imported, or a duplicate', () => {
    const processed = { ...rejectedReceipt('a.csv', null, null, now), status: 'processed' as const }
    expect(fileFailure(processed, { key: 'k' }, now)).toBeUndefined()
    expect(fileFailure({ ...processed, status: 'duplicate' }, { key: 'k' }, now)).toBeUndefined()
  })

  it('a file the broker refused reads the same from the watcher and from stockflow import', () => {
    const r = refusedReceipt('big.csv', 'MESSAGE_TOO_LARGE', { sha256: 'f00d', bytes: 42 }, now)
    expect([r.status, r.sha256, r.bytes, r.error?.code]).toEqual(['failed', 'f00d', 42, 'PUBLISH_REFUSED'])
    expect(fileFailure(r, { key: 'k' }, now)?.message).toMatch(
      /^file big\.csv was not imported: the broker refused to take this file's rows \(MESSAGE_TOO_LARGE\)/,
    )
  })
})
