import { describe, expect, it } from 'vitest'
import { isRejectedRowsName } from './input-folder.ts'

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
