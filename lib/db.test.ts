import { describe, expect, it } from 'vitest'
import { arrayLiteral, chunks, dictionary } from './db.ts'
import { isRefusedInput } from './errors.ts'

describe('arrayLiteral', () => {
  it('writes integers, uuids and nulls unquoted', () => {
    expect(arrayLiteral([])).toBe('{}')
    expect(arrayLiteral([1, -2, 0, 2 ** 53 - 1])).toBe('{1,-2,0,9007199254740991}')
    expect(arrayLiteral(['0b8f5d2e-3c1a-4f6b-9e7d-1a2b3c4d5e6f', null])).toBe(
      '{0b8f5d2e-3c1a-4f6b-9e7d-1a2b3c4d5e6f,NULL}',
    )
  })

  it.each([
    ['a fraction', 1.5],
    ['an unsafe integer', 2 ** 53],
    ['NaN', Number.NaN],
    ['an upper-case uuid', '0B8F5D2E-3C1A-4F6B-9E7D-1A2B3C4D5E6F'],
    ['text that would break out of the literal', '1},{2'],
    ['the word null', 'null'],
  ])('refuses %s as input Postgres would refuse, so the processor isolates its message', (_, value) => {
    let thrown: unknown
    try {
      arrayLiteral([1, value])
    } catch (err) {
      thrown = err
    }
    expect(thrown).toMatchObject({ code: 'DB_DATA' })
    expect(isRefusedInput(thrown)).toBe(true)
  })
})

describe('chunks', () => {
  it('splits rows into runs of at most the given size, in order', () => {
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]])
    expect(chunks([], 2)).toEqual([])
  })
})

describe('dictionary', () => {
  it('sends each distinct text once, and per row its 1-based index or NULL', () => {
    expect(dictionary(['b.csv', null, 'a.csv', 'b.csv', 'a.csv'])).toEqual({
      words: ['b.csv', 'a.csv'],
      refs: '{1,NULL,2,1,2}',
    })
    expect(dictionary([])).toEqual({ words: [], refs: '{}' })
  })

  it('keeps texts that an array literal could not carry unquoted', () => {
    const odd = ['a,b', '{"}', 'NULL', '']
    const d = dictionary(odd)
    expect(d.words).toEqual(odd)
    expect(d.refs).toBe('{1,2,3,4}')
  })
})
