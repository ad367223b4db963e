import { describe, expect, it } from 'vitest'
import { helpers } from './render.ts'

describe('helpers.plain', () => {
  it('writes out invisible characters in any text, and shows nothing for none', () => {
    expect(helpers.plain('1 row rejected from file a\u202egpj.csv')).toBe(
      '1 row rejected from file a\\u{202E}gpj.csv',
    )
    expect(helpers.plain(undefined)).toBe('')
  })
})

describe('helpers.file', () => {
  it('writes out the characters that reorder or hide a name', () => {
    expect(helpers.file('invoice\u202egpj.csv')).toBe('invoice\\u{202E}gpj.csv')
    expect(helpers.file('a\u200bb\u2066c\u0007\n.csv')).toBe('a\\u{200B}b\\u{2066}c\\u{7}\\u{A}.csv')
  })
  it('leaves an ordinary name alone, letters of any script included', () => {
    expect(helpers.file('store 5 – März.csv')).toBe('store 5 – März.csv')
    expect(helpers.file('מלאי.csv')).toBe('מלאי.csv')
    expect(helpers.file(null)).toBe('–')
  })
})
