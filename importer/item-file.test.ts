import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { pathSource } from './admitted-file.ts'
import { itemHeaderOf, itemReceipt, readItemFile } from './item-file.ts'

async function source(text: string | Buffer) {
  const path = join(await mkdtemp(join(tmpdir(), 'items-')), 'f.csv')
  await writeFile(path, text)
  return pathSource(path, Buffer.byteLength(text))
}

const times = { file: 'items.csv', sha256: 'ab', bytes: 10, started: 0, finished: 1000 }

describe('item files on disk', () => {
  it('tells an item file from a movement file, an empty one and a UTF-16 one by the first record', async () => {
    expect(await itemHeaderOf(await source('\ufeff\n\nName,Item_Number\r\n12,Bolt\r\n'))).toEqual({
      ok: true,
      columns: { item_number: 1, name: 0, unit: undefined, width: 2 },
    })
    expect(
      await itemHeaderOf(await source('transaction_id,event_type,date,store_number,item_number,value\n')),
    ).toBe(undefined)
    expect(await itemHeaderOf(await source(''))).toBe(undefined)
    expect(await itemHeaderOf(await source(Buffer.from('\ufeffitem_number,name\n', 'utf16le')))).toBe(
      undefined,
    )
  })

  it('reads every row after the header, quoted names and blank lines included', async () => {
    const file = await source('item_number,name,unit\n12,"Bolt, M6",pcs\n\n13,Nut,\n')
    const header = await itemHeaderOf(file)
    expect(header?.ok).toBe(true)
    if (!header?.ok) return
    expect(await readItemFile(file, header.columns)).toEqual({
      ok: true,
      rows: 2,
      items: 2,
      json: '[{"item_number":12,"name":"Bolt, M6","unit":"pcs"},{"item_number":13,"name":"Nut","unit":null}]',
    })
  })
})

describe('the receipt of an item file', () => {
  it('says how many items were loaded', () => {
    const read = { ok: true as const, rows: 2, items: 2, json: '[]' }
    expect(itemReceipt(times, { read, load: { ok: true, loaded: 2 } })).toEqual({
      file: 'items.csv',
      status: 'processed',
      sha256: 'ab',
      bytes: 10,
      rows_read: 2,
      rows_accepted: 2,
      rows_rejected: 0,
      started_at: '1970-01-01T00:00:00.000Z',
      finished_at: '1970-01-01T00:00:01.000Z',
      duration_ms: 1000,
      rows_per_second: 2,
      rejections: [],
      rejected_by_code: {},
      rejected_csv: null,
      duplicate_of: null,
      error: null,
      kind: 'items',
      items_loaded: 2,
    })
  })

  it('fails the whole file with the reasons per line, or the database refusal, loading none', () => {
    const read = {
      ok: false as const,
      rows: 3,
      refused: 1,
      code: 'INVALID_ITEMS' as const,
      message: '1 of 3 rows …',
      rejections: [{ line: 3, code: 'INVALID_NAME', message: 'name is blank' }],
      byCode: { INVALID_NAME: 1 },
    }
    expect(itemReceipt(times, { read })).toMatchObject({
      status: 'failed',
      rows_read: 3,
      rows_accepted: 0,
      rows_rejected: 1,
      rejections: [{ line: 3, code: 'INVALID_NAME', message: 'name is blank' }],
      rejected_by_code: { INVALID_NAME: 1 },
      error: { code: 'INVALID_ITEMS', message: '1 of 3 rows …' },
      items_loaded: 0,
    })
    const good = { ok: true as const, rows: 1, items: 1, json: '[]' }
    expect(itemReceipt(times, { read: good, load: { ok: false, message: 'no' } })).toMatchObject({
      status: 'failed',
      rows_accepted: 0,
      error: { code: 'ITEMS_REFUSED', message: 'Postgres refused the items; nothing was loaded: no' },
      items_loaded: 0,
    })
    expect(itemReceipt(times, { error: { code: 'AMBIGUOUS_COLUMNS', message: 'twice' } })).toMatchObject({
      status: 'failed',
      rows_read: 0,
      error: { code: 'AMBIGUOUS_COLUMNS', message: 'twice' },
      kind: 'items',
    })
  })
})
