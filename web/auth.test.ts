import { describe, expect, it } from 'vitest'
import { passwordMatches, safeNext } from './auth.ts'
import { filterParams, parseErrorFilter } from './error-pages.ts'
import { parseThreshold } from './stock-pages.ts'

describe('safeNext', () => {
  it('returns to a path on this console only', () => {
    expect(safeNext('/items/5/12?page=2')).toBe('/items/5/12?page=2')
    expect(
      ['//evil.example/', '/\\evil.example', 'https://evil.example', 'javascript:alert(1)', 7].map(safeNext),
    ).toEqual(['/stock', '/stock', '/stock', '/stock', '/stock'])
  })
})

describe('passwordMatches', () => {
  it('compares whole passwords of any length', () => {
    expect(passwordMatches('correct horse', 'correct horse')).toBe(true)
    expect(passwordMatches('correct', 'correct horse')).toBe(false)
    expect(passwordMatches('', 'x')).toBe(false)
  })
})

describe('form input', () => {
  it('reads an error filter and reports what it cannot use', () => {
    expect(parseErrorFilter({ code: 'UNKNOWN_ITEM', store: '40', item: '', file: ' a.csv ' })).toEqual({
      filter: { code: 'UNKNOWN_ITEM', store: 40, file: 'a.csv' },
      problems: [],
    })
    expect(parseErrorFilter({ code: "x' or 1=1", store: '4x' }).problems).toEqual([
      "Code: 'x' or 1=1' is not an error code",
      "Store: '4x' is not a number",
    ])
    expect(filterParams({ store: 40, item: 0 })).toEqual({ store: '40', item: '0' })
  })

  it('reads a threshold: a whole number, or empty to remove it', () => {
    expect([parseThreshold('12'), parseThreshold(' '), parseThreshold(undefined)]).toEqual([12, null, null])
    expect(() => parseThreshold('-1')).toThrow("threshold '-1' is not a whole number of 0 or more")
  })
})
