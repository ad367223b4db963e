import { describe, expect, it } from 'vitest'
import { isIgnoredName, isRejectedRowsName } from './input-folder.ts'

describe('isRejectedRowsName', () => {
  it('knows a rejected-rows file under the names it comes back with', () => {
    expect(isRejectedRowsName('storeA.csv.rejected.csv')).toBe(true)
    expect(isRejectedRowsName('uploads/storeA.csv.rejected-1.csv')).toBe(true)
    expect(isRejectedRowsName('storeA.csv.rejected (2).csv')).toBe(true)
    expect(isRejectedRowsName('storeA.csv.rejected(2).CSV')).toBe(true)
  })
  it('leaves every other file alone', () => {
    expect(isRejectedRowsName('storeA.csv')).toBe(false)
    expect(isRejectedRowsName('rejected.csv')).toBe(false)
    expect(isRejectedRowsName('storeA.rejected-x.csv')).toBe(false)
    expect(isRejectedRowsName('storeA.csv.rejected.csv/inner.csv')).toBe(false)
  })
})

describe('isIgnoredName', () => {
  it('takes what the importer takes', () => {
    expect(!isIgnoredName('day1.csv')).toBe(true)
    expect(!isIgnoredName('uploads/day1.csv')).toBe(true)
    expect(!isIgnoredName('x.csv.rejected.csv')).toBe(true)
  })
  it('leaves out its own folders, dotfiles, receipts and files still being written', () => {
    for (const rel of [
      'processing/a.csv',
      'processed/a.csv',
      'failed/a.csv',
      '.a.csv',
      'uploads/.a.csv.123.part',
      '.hidden/a.csv',
      'a.csv.receipt.json',
      'a.csv.tmp',
      'a.CSV.PART',
      'a.crdownload',
    ]) {
      expect({ rel, waits: !isIgnoredName(rel) }).toEqual({ rel, waits: false })
    }
  })
})
