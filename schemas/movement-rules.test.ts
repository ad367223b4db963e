import { describe, expect, it } from 'vitest'
import type { StockMovement } from './contract.ts'
import {
  checkMovement,
  INT_FIELD_MAX,
  isCanonicalUuid,
  isUuid,
  OCCURRED_AT_MAX,
  parseProvenance,
} from './movement-rules.ts'

const ok: StockMovement = {
  transaction_id: '7e1b3fb4-0b4b-4a5c-9a9a-1c2d3e4f5a6b',
  event_type: 'sale',
  occurred_at: Date.parse('2019-04-14T03:47:13Z'),
  store_number: 5,
  item_number: 12,
  quantity: 3,
}

describe('checkMovement', () => {
  it('accepts a valid movement and the bounds themselves', () => {
    expect(checkMovement(ok)).toBeUndefined()
    expect(checkMovement({ ...ok, quantity: INT_FIELD_MAX, store_number: INT_FIELD_MAX })).toBeUndefined()
    expect(checkMovement({ ...ok, occurred_at: OCCURRED_AT_MAX })).toBeUndefined()
  })
  it.each([
    [{ transaction_id: 'not-a-uuid' }, 'INVALID_UUID'],
    [{ transaction_id: "1'; drop table x; --" }, 'INVALID_UUID'],
    [{ event_type: 'UNKNOWN' }, 'UNKNOWN_EVENT_TYPE'],
    [{ occurred_at: OCCURRED_AT_MAX + 1 }, 'INVALID_DATE'],
    [{ occurred_at: 1.5 }, 'INVALID_DATE'],
    [{ occurred_at: Date.parse('0050-06-01T00:00:00Z') }, 'INVALID_DATE'],
    [{ store_number: 0 }, 'INVALID_STORE'],
    [{ item_number: -4 }, 'INVALID_ITEM'],
    [{ quantity: 0 }, 'INVALID_QUANTITY'],
    [{ quantity: -1 }, 'INVALID_QUANTITY'],
    [{ quantity: INT_FIELD_MAX + 1 }, 'INVALID_QUANTITY'],
  ] as [Partial<StockMovement>, string][])('%j is %s', (patch, code) => {
    expect(checkMovement({ ...ok, ...patch } as StockMovement)?.code).toBe(code)
  })
})

describe('isUuid and isCanonicalUuid', () => {
  // The hand-written check must agree with the plain reading of the format on every input.
  const REFERENCE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
  const lower = '7e1b3fb4-0b4b-4a5c-9a9a-1c2d3e4f5a6b'

  it.each([
    [lower, true, true],
    [lower.toUpperCase(), true, false],
    ['7E1b3fb4-0b4b-4a5c-9a9a-1c2d3e4f5a6b', true, false],
    ['00000000-0000-0000-0000-000000000000', true, true],
    [`${lower}0`, false, false],
    [lower.slice(1), false, false],
    [lower.replace('-', 'x'), false, false],
    ['7e1b3fb40-b4b-4a5c-9a9a-1c2d3e4f5a6b', false, false],
    [lower.replace('a', 'g'), false, false],
    [lower.replace('a', '\u00e1'), false, false],
    [lower.replace('a', '\u0101'), false, false],
    ['{7e1b3fb4-0b4b-4a5c-9a9a-1c2d3e4f5a6}', false, false],
    ['', false, false],
  ])('%j: uuid %s, canonical %s', (s, uuid, canonical) => {
    expect(isUuid(s)).toBe(uuid)
    expect(isCanonicalUuid(s)).toBe(canonical)
  })

  it('agrees with the regular expression on every character at every position', () => {
    for (let pos = 0; pos < 36; pos++) {
      for (let code = 0; code < 300; code++) {
        const s = lower.slice(0, pos) + String.fromCharCode(code) + lower.slice(pos + 1)
        expect(isUuid(s)).toBe(REFERENCE.test(s))
        expect(isCanonicalUuid(s)).toBe(REFERENCE.test(s) && s === s.toLowerCase())
      }
    }
  })
})

describe('messages', () => {
  it('clip quoted input by code point, never leaving half an emoji', () => {
    const message = checkMovement({ ...ok, transaction_id: `${'a'.repeat(56)}😀${'b'.repeat(10)}` })!.message
    expect(message).toContain(`${'a'.repeat(56)}😀...`)
    expect(JSON.parse(JSON.stringify(message))).toBe(message)
    expect(/[\ud800-\udbff](?![\udc00-\udfff])/.test(message)).toBe(false)
  })
})

describe('parseProvenance', () => {
  it('takes absent headers and whole line numbers', () => {
    expect(parseProvenance(null, null)).toEqual({ ok: true, value: { sourceFile: null, sourceLine: null } })
    expect(parseProvenance('a.csv', '17')).toEqual({
      ok: true,
      value: { sourceFile: 'a.csv', sourceLine: 17 },
    })
  })
  it.each([
    ['a.csv', '1.5'],
    ['a.csv', '-3'],
    ['a.csv', '0'],
    ['a.csv', '99999999999999999999'],
    ['a\u0000.csv', '2'],
  ])('refuses file %j line %j', (file, line) => {
    expect(parseProvenance(file, line)).toMatchObject({ ok: false, problem: { code: 'INVALID_PROVENANCE' } })
  })
})
