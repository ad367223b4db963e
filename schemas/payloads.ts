// The one place StockError and LowStock values are built: every field gets a value, and the optional
// ones their contract default, so no writer can forget a field or invent a shape of its own.
import { createHash } from 'node:crypto'
import type { LowStock, LowStockSeverity, StockError, StockMovement } from './contract.ts'

export type StockErrorFields = Pick<StockError, 'error_id' | 'stage' | 'code' | 'message'> &
  Partial<Omit<StockError, 'error_id' | 'stage' | 'code' | 'message'>>

/** A StockError at `now`: unset fields take the contract's defaults, and first seen = failed = now. */
export function stockError(fields: StockErrorFields, now: number): StockError {
  return {
    source_file: null,
    source_line: null,
    raw_row: null,
    movement: null,
    raw_value_base64: null,
    topic: null,
    partition: null,
    offset: null,
    attempts: 0,
    attempted_at: [],
    first_seen_at: now,
    failed_at: now,
    ...fields,
  }
}

/** Where a message sat on a topic, in the error's own fields (the offset is a string: it can pass 2^53). */
export function messagePosition(topic: string, partition: number, offset: number | string) {
  return { topic, partition, offset: String(offset) }
}

export interface LowStockFields {
  store: number
  item: number
  episode: number
  severity: LowStockSeverity
  quantity: number
  threshold: number
  cause: Pick<StockMovement, 'transaction_id' | 'occurred_at'>
}

/** The id is deterministic, `<store>:<item>:<episode>:<severity>`, so a redelivery alerts once. */
export function lowStock(f: LowStockFields, now: number): LowStock {
  return {
    event_id: `${f.store}:${f.item}:${f.episode}:${f.severity}`,
    episode: f.episode,
    severity: f.severity,
    store_number: f.store,
    item_number: f.item,
    quantity: f.quantity,
    threshold: f.threshold,
    transaction_id: f.cause.transaction_id,
    occurred_at: f.cause.occurred_at,
    detected_at: now,
  }
}

/**
 * The deterministic `error_id` of a StockError: the same failure always hashes to the same id, so
 * redeliveries and re-imports can be dropped downstream.
 */
export function errorId(...parts: (string | number)[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32)
}
