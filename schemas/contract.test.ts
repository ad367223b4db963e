import { describe, expect, it } from 'vitest'
import {
  type LowStock,
  SCHEMAS,
  type StockError,
  type StockMovement,
  TYPES,
  valueSubject,
} from './contract.ts'

// `satisfies Record<keyof T, true>` makes tsc fail when the TS type gains or loses a field;
// the assertions below fail when the .avsc file does.
const movementFields = {
  transaction_id: true,
  event_type: true,
  occurred_at: true,
  store_number: true,
  item_number: true,
  quantity: true,
  to_store_number: true,
  reverses: true,
} satisfies Record<keyof StockMovement, true>

const errorFields = {
  error_id: true,
  stage: true,
  code: true,
  message: true,
  source_file: true,
  source_line: true,
  raw_row: true,
  movement: true,
  raw_value_base64: true,
  topic: true,
  partition: true,
  offset: true,
  attempts: true,
  attempted_at: true,
  first_seen_at: true,
  failed_at: true,
} satisfies Record<keyof StockError, true>

const lowStockFields = {
  event_id: true,
  episode: true,
  severity: true,
  store_number: true,
  item_number: true,
  quantity: true,
  threshold: true,
  transaction_id: true,
  occurred_at: true,
  detected_at: true,
} satisfies Record<keyof LowStock, true>

const avscFields = (name: keyof typeof SCHEMAS) =>
  (SCHEMAS[name].fields as { name: string }[]).map((f) => f.name).sort()

const movement: StockMovement = {
  transaction_id: '8947695b-7f19-44b6-96b6-7f8ed041fe57',
  event_type: 'sale',
  occurred_at: 1_555_213_633_000,
  store_number: 5,
  item_number: 12,
  quantity: 400,
  to_store_number: null,
  reverses: null,
}

describe('contract', () => {
  it('has the same fields in the TypeScript types as in the .avsc files', () => {
    expect(avscFields('StockMovement')).toEqual(Object.keys(movementFields).sort())
    expect(avscFields('StockError')).toEqual(Object.keys(errorFields).sort())
    expect(avscFields('LowStock')).toEqual(Object.keys(lowStockFields).sort())
  })

  it('round-trips typed values through Avro', () => {
    const error: StockError = {
      error_id: 'e1',
      stage: 'process',
      code: 'INSUFFICIENT_STOCK',
      message: 'm',
      source_file: 'a.csv',
      source_line: 3,
      raw_row: null,
      movement,
      raw_value_base64: null,
      topic: 'events',
      partition: 1,
      offset: '42',
      attempts: 2,
      attempted_at: [1, 2],
      first_seen_at: 1,
      failed_at: 2,
    }
    expect(TYPES.StockMovement.fromBuffer(TYPES.StockMovement.toBuffer(movement))).toEqual(movement)
    expect(TYPES.StockError.fromBuffer(TYPES.StockError.toBuffer(error))).toEqual(error)
    expect(TYPES.StockMovement.isValid({ ...movement, event_type: 'refund' })).toBe(false)
  })

  it('reads an event type added by a newer writer as UNKNOWN instead of failing', async () => {
    const avro = (await import('avsc')).default
    const newer = avro.Type.forSchema({
      ...SCHEMAS.StockMovement,
      fields: (SCHEMAS.StockMovement.fields as { name: string }[]).map((f) =>
        f.name === 'event_type'
          ? {
              name: 'event_type',
              type: {
                type: 'enum',
                name: 'EventType',
                symbols: ['UNKNOWN', 'incoming', 'sale', 'adjustment', 'transfer', 'reversal', 'recount'],
                default: 'UNKNOWN',
              },
            }
          : f,
      ),
    } as never)
    const buf = newer.toBuffer({ ...movement, event_type: 'recount' })
    const read = TYPES.StockMovement.fromBuffer(buf, TYPES.StockMovement.createResolver(newer))
    expect(read.event_type).toBe('UNKNOWN')
  })

  it('names value subjects by topic', () => {
    expect(valueSubject('events')).toBe('events-value')
  })
})
