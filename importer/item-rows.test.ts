import { describe, expect, it } from 'vitest'
import { checkItemRow, ItemCollector, itemActor, itemHeader } from './item-rows.ts'
import type { CsvRecord } from './read-records.ts'

const columns = { item_number: 0, name: 1, unit: 2, width: 3 }
const rec = (line: number, ...fields: string[]): CsvRecord => ({
  ok: true,
  line,
  fields,
  raw: fields.join(','),
})

describe('item file header', () => {
  it('recognises item_number and name, with or without unit, in any order and case', () => {
    expect(itemHeader(['item_number', 'name'])).toEqual({
      ok: true,
      columns: { item_number: 0, name: 1, unit: undefined, width: 2 },
    })
    expect(itemHeader([' Unit ', 'NAME', 'Item_Number', ''])).toEqual({
      ok: true,
      columns: { item_number: 2, name: 1, unit: 0, width: 4 },
    })
  })

  it('leaves every other header to the movement importer', () => {
    expect(itemHeader(['transaction_id', 'event_type', 'date', 'store_number', 'item_number', 'value'])).toBe(
      undefined,
    )
    expect(itemHeader(['item_number', 'name', 'price'])).toBe(undefined)
    expect(itemHeader(['item_number', 'unit'])).toBe(undefined)
    expect(itemHeader(['name'])).toBe(undefined)
  })

  it('refuses a column named twice instead of picking one', () => {
    expect(itemHeader(['item_number', 'name', 'Name '])).toEqual({
      ok: false,
      code: 'AMBIGUOUS_COLUMNS',
      message: 'the header names name more than once; keep one of each and drop the file again',
    })
  })
})

describe('item rows', () => {
  it('trims, and reads a blank unit as none', () => {
    expect(checkItemRow([' 0', ' Bolt M6 ', ''], columns)).toEqual({
      ok: true,
      value: { item_number: 0, name: 'Bolt M6', unit: null },
    })
    expect(checkItemRow(['2147483647', 'Ü'.repeat(120), 'x'.repeat(20)], columns)).toMatchObject({ ok: true })
  })

  it('refuses each bad field with its code', () => {
    const check = (...f: string[]) => checkItemRow(f, columns)
    expect(check('', 'a', '')).toEqual({ ok: false, code: 'INVALID_ITEM', message: 'item_number is blank' })
    expect(check('-1', 'a', '')).toMatchObject({ code: 'INVALID_ITEM' })
    expect(check('1.5', 'a', '')).toMatchObject({ code: 'INVALID_ITEM' })
    expect(check('2147483648', 'a', '')).toEqual({
      ok: false,
      code: 'INVALID_ITEM',
      message: "item_number '2147483648' is not a whole number from 0 to 2147483647",
    })
    expect(check('1', '  ', '')).toEqual({ ok: false, code: 'INVALID_NAME', message: 'name is blank' })
    // A Hangul filler is default-ignorable: hidden, as the database's check_actor and names take it.
    expect(check('1', '\u3164\u2800', '')).toEqual({
      ok: false,
      code: 'INVALID_NAME',
      message: 'name contains an invisible character (U+3164)',
    })
    // A braille blank is a printable character that shows nothing.
    expect(check('1', '\u2800\u2800', '')).toEqual({
      ok: false,
      code: 'INVALID_NAME',
      message: 'name has no visible character',
    })
    expect(check('1', 'é'.repeat(121), '')).toEqual({
      ok: false,
      code: 'INVALID_NAME',
      message: 'name has 121 characters; at most 120',
    })
    expect(check('1', 'a\u200bb', '')).toEqual({
      ok: false,
      code: 'INVALID_NAME',
      message: 'name contains an invisible character (U+200B)',
    })
    expect(check('1', 'a\tb', '')).toMatchObject({ code: 'INVALID_NAME' })
    expect(check('1', 'a\u202eb', '')).toMatchObject({ code: 'INVALID_NAME' })
    expect(check('1', 'a', 'x'.repeat(21))).toEqual({
      ok: false,
      code: 'INVALID_UNIT',
      message: 'unit has 21 characters; at most 20',
    })
    expect(check('1', 'a')).toEqual({ ok: false, code: 'FIELD_COUNT', message: 'expected 3 fields, found 2' })
  })
})

describe('an item file, all or nothing', () => {
  it('collects every good row as one JSON array for one load', () => {
    const c = new ItemCollector(columns)
    c.add(rec(2, '12', 'Bolt M6', 'pcs'))
    c.add(rec(3, '13', '"Quoted", name', ''))
    expect(c.finish()).toEqual({
      ok: true,
      rows: 2,
      items: 2,
      json: '[{"item_number":12,"name":"Bolt M6","unit":"pcs"},{"item_number":13,"name":"\\"Quoted\\", name","unit":null}]',
    })
  })

  it('refuses the file for any bad row, naming every line, both lines of a repeat and unreadable records', () => {
    const c = new ItemCollector(columns)
    c.add(rec(2, '12', 'Bolt', ''))
    c.add(rec(3, 'x', 'Nut', ''))
    c.add({ ok: false, line: 4, code: 'MALFORMED_QUOTES', message: 'bad quotes', raw: 'a"b' })
    c.add(rec(5, '12', 'Bolt again', ''))
    c.add(rec(6, '14', 'Washer', ''))
    expect(c.finish()).toEqual({
      ok: false,
      rows: 5,
      refused: 3,
      code: 'INVALID_ITEMS',
      message:
        "3 of 5 rows are not valid items (the first, on line 3: item_number 'x' is not a whole number from 0 to 2147483647); nothing was loaded. Fix every listed line and drop the whole file again",
      rejections: [
        {
          line: 3,
          code: 'INVALID_ITEM',
          message: "item_number 'x' is not a whole number from 0 to 2147483647",
        },
        { line: 4, code: 'MALFORMED_QUOTES', message: 'bad quotes' },
        {
          line: 5,
          code: 'DUPLICATE_IN_FILE',
          message: 'item_number 12 is on line 2 and line 5; name each item once per file',
        },
      ],
      byCode: { INVALID_ITEM: 1, MALFORMED_QUOTES: 1, DUPLICATE_IN_FILE: 1 },
    })
  })

  it('refuses a file past its limits without holding it', () => {
    const many = new ItemCollector(columns, { maxItems: 2, maxJsonBytes: 1000 })
    for (let i = 0; i < 3; i++) many.add(rec(i + 2, String(i), 'n', ''))
    expect(many.finish()).toMatchObject({ ok: false, rows: 3, refused: 0, code: 'TOO_MANY_ITEMS' })
    const big = new ItemCollector(columns, { maxItems: 10, maxJsonBytes: 100 })
    for (let i = 0; i < 3; i++) big.add(rec(i + 2, String(i), 'n'.repeat(40), ''))
    expect(big.finish()).toMatchObject({ ok: false, code: 'TOO_MANY_ITEMS' })
  })

  it('takes 50,000 items', () => {
    const c = new ItemCollector(columns)
    for (let i = 0; i < 50_000; i++) c.add(rec(i + 2, String(i), `Item number ${i} in the master`, 'pcs'))
    const result = c.finish()
    expect(result.ok && result.items).toBe(50_000)
    expect(result.ok && JSON.parse(result.json)[49_999]).toEqual({
      item_number: 49_999,
      name: 'Item number 49999 in the master',
      unit: 'pcs',
    })
  })
})

describe('the actor of an item load', () => {
  it('names the file, printable and at most 200 characters', () => {
    expect(itemActor('uploads/items.csv')).toBe('file:uploads/items.csv')
    expect(itemActor('a\nb.csv')).toBe('file:a?b.csv')
    expect([...itemActor('x'.repeat(300))]).toHaveLength(200)
  })
})
