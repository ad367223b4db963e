// The message contract: the .avsc files beside this module, their TypeScript shapes, and subject names.
// No service defines a message shape of its own; they all import from here.
import { readFileSync } from 'node:fs'
import avro from 'avsc'

export type EventType = 'incoming' | 'sale' | 'adjustment' | 'transfer' | 'reversal'
/** Every type a movement may have: incoming and sale since contract version 1, the corrections since version 2. */
export const EVENT_TYPES: readonly EventType[] = ['incoming', 'sale', 'adjustment', 'transfer', 'reversal']
/** UNKNOWN is what a reader sees for a symbol added by a newer writer. */
export type DecodedEventType = EventType | 'UNKNOWN'

export interface StockMovement {
  transaction_id: string
  event_type: DecodedEventType
  /** Epoch milliseconds (Avro timestamp-millis). */
  occurred_at: number
  store_number: number
  item_number: number
  /** > 0, except an adjustment's counted quantity, which may be 0. */
  quantity: number
  /**
   * A transfer's destination store. Optional with a null default in the schema (version 2), so a writer of
   * version 1 and the code that builds sales and incomings need not name it; decoded, it is always present.
   */
  to_store_number?: number | null
  /** A reversal's original transaction_id; null otherwise. Version 2, like to_store_number. */
  reverses?: string | null
}

export type ErrorStage = 'import' | 'process'

export interface StockError {
  error_id: string
  stage: ErrorStage
  code: string
  message: string
  source_file: string | null
  source_line: number | null
  raw_row: string | null
  movement: StockMovement | null
  raw_value_base64: string | null
  topic: string | null
  partition: number | null
  offset: string | null
  attempts: number
  attempted_at: number[]
  first_seen_at: number
  failed_at: number
}

export type LowStockSeverity = 'LOW' | 'OUT_OF_STOCK'

export interface LowStock {
  event_id: string
  episode: number
  severity: LowStockSeverity
  store_number: number
  item_number: number
  quantity: number
  threshold: number
  transaction_id: string
  occurred_at: number
  detected_at: number
}

export type AvroSchemaJson = Record<string, unknown>

function readSchema(file: string): AvroSchemaJson {
  return JSON.parse(readFileSync(new URL(`./${file}`, import.meta.url), 'utf8')) as AvroSchemaJson
}

/**
 * Replaces references to named types with their definitions, so the schema sent to the registry is
 * self-contained (schema references are not implemented alike by every Confluent-compatible registry).
 */
function inlineNamed(schema: unknown, defs: Map<string, AvroSchemaJson>): unknown {
  if (typeof schema === 'string') {
    const def = defs.get(schema)
    if (!def) return schema
    defs.delete(schema) // Avro allows a name to be defined only once; later uses stay references.
    return def
  }
  if (Array.isArray(schema)) return schema.map((s) => inlineNamed(s, defs))
  if (schema && typeof schema === 'object') {
    return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, inlineNamed(v, defs)]))
  }
  return schema
}

const movementSchema = readSchema('StockMovement.avsc')

export const SCHEMAS: Readonly<Record<'StockMovement' | 'StockError' | 'LowStock', AvroSchemaJson>> =
  Object.freeze({
    StockMovement: movementSchema,
    StockError: inlineNamed(
      readSchema('StockError.avsc'),
      new Map([['dev.stockflow.StockMovement', movementSchema]]),
    ) as AvroSchemaJson,
    LowStock: readSchema('LowStock.avsc'),
  })

export type SchemaName = keyof typeof SCHEMAS

export const TYPES: Readonly<Record<SchemaName, avro.Type>> = Object.freeze({
  StockMovement: avro.Type.forSchema(SCHEMAS.StockMovement as avro.Schema),
  StockError: avro.Type.forSchema(SCHEMAS.StockError as avro.Schema),
  LowStock: avro.Type.forSchema(SCHEMAS.LowStock as avro.Schema),
})

/** Confluent TopicNameStrategy: the value subject of topic T is "T-value". */
export function valueSubject(topic: string): string {
  return `${topic}-value`
}

/** Partition key: every movement of one store:item lands on one partition, in order. */
export function movementKey(store: number, item: number): string {
  return `${store}:${item}`
}
