import { describe, expect, it } from 'vitest'
import { daysInMonth, mapHeader, parseEventType, parseRow, parseTimestamp } from './parse-row.ts'

const header = mapHeader(['transaction_id', 'event_type', 'date', 'store_number', 'item_number', 'value'])
if (!header.ok) throw new Error('seed header must map')
const map = header.map
const good = ['8947695b-7f19-44b6-96b6-7f8ed041fe57', 'incoming', '2019-04-14T03:47:13Z', '5', '12', '400']
const withField = (i: number, v: string) => good.map((g, j) => (j === i ? v : g))

describe('mapHeader', () => {
  it('maps reordered and differently cased columns, and names every missing one', () => {
    const r = mapHeader([
      ' VALUE',
      'date',
      'item_number',
      'store_number',
      'event_type',
      'transaction_id',
      'extra',
    ])
    expect(r).toEqual({
      ok: true,
      map: { value: 0, date: 1, item_number: 2, store_number: 3, event_type: 4, transaction_id: 5, width: 7 },
    })
    expect(mapHeader(['transaction_id', 'date'])).toEqual({
      ok: false,
      missing: ['event_type', 'store_number', 'item_number', 'value'],
      ambiguous: [],
    })
  })

  it('refuses a column named twice instead of taking whichever comes first', () => {
    const r = mapHeader([
      'transaction_id',
      'event_type',
      'date',
      'store_number',
      'item_number',
      'value',
      'Quantity',
    ])
    expect(r).toEqual({
      ok: false,
      missing: [],
      ambiguous: [{ column: 'value', names: ['value', 'Quantity'] }],
    })
    expect(
      mapHeader(['date', 'transaction_id', 'event_type', 'date', 'store_number', 'item_number', 'value']),
    ).toMatchObject({
      ok: false,
      ambiguous: [{ column: 'date', names: ['date', 'date'] }],
    })
  })
})

describe('parseRow', () => {
  it('accepts the seed row', () => {
    expect(parseRow(good, map)).toEqual({
      ok: true,
      movement: {
        transaction_id: '8947695b-7f19-44b6-96b6-7f8ed041fe57',
        event_type: 'incoming',
        occurred_at: Date.parse('2019-04-14T03:47:13Z'),
        store_number: 5,
        item_number: 12,
        quantity: 400,
      },
    })
  })

  it.each([
    ['blank field', withField(3, ' '), 'BLANK_FIELD'],
    ['too few fields', good.slice(0, 5), 'FIELD_COUNT'],
    ['too many fields', [...good, ''], 'FIELD_COUNT'],
    ['bad uuid', withField(0, 'not-a-uuid'), 'INVALID_UUID'],
    ['refund', withField(1, 'refund'), 'UNKNOWN_EVENT_TYPE'],
    ['date without zone', withField(2, '2019-04-14T03:47:13'), 'INVALID_DATE'],
    ['impossible date', withField(2, '2019-02-30T00:00:00Z'), 'INVALID_DATE'],
    ['date only', withField(2, '2019-04-14'), 'INVALID_DATE'],
    ['store 0', withField(3, '0'), 'INVALID_STORE'],
    ['store -1', withField(3, '-1'), 'INVALID_STORE'],
    ['item 1.5', withField(4, '1.5'), 'INVALID_ITEM'],
    ['quantity abc', withField(5, 'abc'), 'INVALID_QUANTITY'],
    ['quantity 1e3', withField(5, '1e3'), 'INVALID_QUANTITY'],
    ['quantity 1.5', withField(5, '1.5'), 'INVALID_QUANTITY'],
    ['quantity NaN', withField(5, 'NaN'), 'INVALID_QUANTITY'],
    ['quantity negative', withField(5, '-4'), 'INVALID_QUANTITY'],
    ['quantity 0', withField(5, '0'), 'INVALID_QUANTITY'],
    ['quantity 2^31', withField(5, '2147483648'), 'INVALID_QUANTITY'],
  ])('rejects %s', (_name, fields, code) => {
    const r = parseRow(fields, map)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.code).toBe(code)
  })

  it('accepts the largest int32 quantity and normalises the event type and uuid case', () => {
    const r = parseRow(
      [
        '8947695B-7F19-44B6-96B6-7F8ED041FE57',
        ' Sale ',
        '2019-04-14T05:47:13+02:00',
        '5',
        '12',
        '2147483647',
      ],
      map,
    )
    expect(r).toMatchObject({
      ok: true,
      movement: {
        transaction_id: '8947695b-7f19-44b6-96b6-7f8ed041fe57',
        event_type: 'sale',
        occurred_at: Date.parse('2019-04-14T03:47:13Z'),
        quantity: 2147483647,
      },
    })
  })
})

describe('field parsers', () => {
  it('parses event types after trim and lower-case only', () => {
    expect(['Sale', 'sale ', 'INCOMING', 'refund', 'sales'].map(parseEventType)).toEqual([
      'sale',
      'sale',
      'incoming',
      undefined,
      undefined,
    ])
  })
  it('parses zoned timestamps and rejects the rest', () => {
    expect(parseTimestamp('2020-02-29T12:00:00.123Z')).toBe(Date.parse('2020-02-29T12:00:00.123Z'))
    expect(parseTimestamp('2019-02-29T12:00:00Z')).toBeUndefined()
    expect(parseTimestamp('2019-04-14 03:47:13+0000')).toBe(Date.parse('2019-04-14T03:47:13Z'))
    expect(parseTimestamp('yesterday')).toBeUndefined()
  })
})

describe('daysInMonth', () => {
  it('agrees with Date for every month of the years 0 to 3000', () => {
    const wrong: string[] = []
    for (let year = 0; year <= 3000; year++) {
      for (let month = 1; month <= 12; month++) {
        const d = new Date(0)
        d.setUTCFullYear(year, month, 0)
        if (daysInMonth(year, month) !== d.getUTCDate()) wrong.push(`${year}-${month}`)
      }
    }
    expect(wrong).toEqual([])
    expect([1900, 2000, 2023, 2024].map((y) => daysInMonth(y, 2))).toEqual([28, 29, 28, 29])
  })
})

describe('corrections', () => {
  const full = mapHeader([
    'transaction_id',
    'event_type',
    'date',
    'store_number',
    'item_number',
    'value',
    'to_store_number',
    'reverses',
  ])
  if (!full.ok) throw new Error('corrections header must map')
  const row = (type: string, value: string, to: string, reverses: string) =>
    parseRow([good[0]!, type, good[2]!, '5', '12', value, to, reverses], full.map)
  const other = '2d0c1f4e-4b1a-4c8e-9a57-1f1e2d3c4b5a'

  it('reads the new types and optional columns, and leaves them off a six-column row', () => {
    expect(row('Transfer', '3', '7', '')).toMatchObject({
      ok: true,
      movement: { event_type: 'transfer', quantity: 3, to_store_number: 7 },
    })
    expect(row('reversal', '3', ' ', other.toUpperCase())).toMatchObject({
      ok: true,
      movement: { event_type: 'reversal', reverses: other },
    })
    expect(row('adjustment', '0', '', '')).toMatchObject({ ok: true, movement: { quantity: 0 } })
    const six = parseRow(good, map)
    expect(six.ok && Object.keys(six.movement)).toEqual([
      'transaction_id',
      'event_type',
      'occurred_at',
      'store_number',
      'item_number',
      'quantity',
    ])
    expect(row('sale', '3', '', '')).toMatchObject({ ok: true })
  })

  it('refuses each broken correction with its own code', () => {
    const code = (r: ReturnType<typeof row>) => (r.ok ? 'ok' : r.code)
    expect(code(row('transfer', '3', '', ''))).toBe('MISSING_TO_STORE')
    expect(code(row('transfer', '3', '5', ''))).toBe('SAME_STORE_TRANSFER')
    expect(code(row('transfer', '3', 'x', ''))).toBe('INVALID_TO_STORE')
    expect(code(row('reversal', '3', '', ''))).toBe('MISSING_REVERSES')
    expect(code(row('reversal', '3', '', 'not-a-uuid'))).toBe('INVALID_REVERSES')
    expect(code(row('reversal', '3', '', good[0]!))).toBe('INVALID_REVERSES')
    expect(code(row('sale', '3', '7', ''))).toBe('UNEXPECTED_FIELD')
    expect(code(row('incoming', '3', '', other))).toBe('UNEXPECTED_FIELD')
    expect(code(row('sale', '0', '', ''))).toBe('INVALID_QUANTITY')
    expect(code(row('refund', '3', '', ''))).toBe('UNKNOWN_EVENT_TYPE')
  })
})
