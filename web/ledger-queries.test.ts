import { describe, expect, it } from 'vitest'
import { parseBalanceQuery } from './balance-query.ts'
import { csvLine } from './csv-export.ts'
import { balanceCsvCells, balanceCsvHeader, LEDGER_CSV_HEADER, ledgerCsvCells } from './ledger-queries.ts'
import { STOCK_CSV_HEADER, stockCsvCells } from './stock-pages.ts'

describe('CSV rows', () => {
  it('writes a ledger row in the header order, a transfer leg with its destination', () => {
    const row = {
      occurred_at: new Date('2024-05-03T12:00:00Z'),
      event_type: 'transfer',
      leg: 1,
      delta: -10,
      balance: 110,
      quantity_after: 90,
      quantity: 10,
      to_store_number: 81,
      reverses: null,
      source_file: '+1.csv',
      source_line: 8,
      transaction_id: 'b0000000-0000-4000-8000-000000000007',
      applied_at: new Date('2026-12-05T07:00:00.123Z'),
    }
    expect(csvLine(LEDGER_CSV_HEADER)).toBe(
      'business_date,type,leg,change,balance_by_business_date,quantity_after_as_applied,quantity,to_store_number,reverses,source_file,source_line,transaction_id,applied_at\r\n',
    )
    expect(csvLine(ledgerCsvCells(row))).toBe(
      "2024-05-03T12:00:00.000Z,transfer,1,-10,110,90,10,81,,'+1.csv,8,b0000000-0000-4000-8000-000000000007,2026-12-05T07:00:00.123Z\r\n",
    )
  })

  it('writes the balance report per store and item, or per item with its number of stores', () => {
    const line = {
      store_number: 80,
      item_number: 1,
      stores: null,
      opening: -30,
      in: 150,
      out: 30,
      closing: 90,
    }
    const perStore = parseBalanceQuery({}).value
    expect(csvLine(balanceCsvHeader(perStore)) + csvLine(balanceCsvCells(perStore)(line))).toBe(
      'store_number,item_number,opening,in,out,closing\r\n80,1,-30,150,30,90\r\n',
    )
    const perItem = parseBalanceQuery({ by: 'item' }).value
    const all = { ...line, store_number: null, stores: 2, opening: 0, in: 200, out: 60, closing: 140 }
    expect(csvLine(balanceCsvHeader(perItem)) + csvLine(balanceCsvCells(perItem)(all))).toBe(
      'item_number,stores,opening,in,out,closing\r\n1,2,0,200,60,140\r\n',
    )
  })

  it('writes a stock row with the threshold that applies and where it comes from', () => {
    const cells = stockCsvCells(10)
    const base = { store_number: 5, item_number: 12, quantity: 3, state: 'LOW', updated_at: new Date(0) }
    expect(csvLine(STOCK_CSV_HEADER)).toBe(
      'store_number,item_number,quantity,state,threshold,threshold_from,updated_at\r\n',
    )
    expect(
      [
        { ...base, threshold: null, item_threshold: null, store_threshold: null },
        { ...base, threshold: 4, item_threshold: null, store_threshold: 4 },
        { ...base, threshold: 2, item_threshold: 2, store_threshold: 4 },
      ].map((r) => csvLine(cells(r))),
    ).toEqual([
      '5,12,3,LOW,10,default,1970-01-01T00:00:00.000Z\r\n',
      '5,12,3,LOW,4,store,1970-01-01T00:00:00.000Z\r\n',
      '5,12,3,LOW,2,item,1970-01-01T00:00:00.000Z\r\n',
    ])
  })
})
