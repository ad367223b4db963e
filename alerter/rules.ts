// Which errors and low-stock events become alerts, how they are grouped, and how an alert reads.
import type { LowStock, StockError } from '../schemas/contract.ts'

export interface AlertRules {
  /** Error codes that alert; '*' means all. */
  errorCodes: readonly string[]
  lowStockSeverities: readonly string[]
}

/** One alertable item, reduced to what grouping and the alert text need. */
export interface AlertItem {
  sourceId: string
  /** Items with one key within the digest window become one alert. */
  key: string
  kind: 'error' | 'low-stock'
  severity: 'warning' | 'critical'
  line: string
}

export function fromError(e: StockError, rules: AlertRules): AlertItem | undefined {
  if (!rules.errorCodes.includes('*') && !rules.errorCodes.includes(e.code)) return undefined
  const where = e.movement ? `store ${e.movement.store_number} item ${e.movement.item_number}` : undefined
  // Import errors group by file and code, so a file full of bad rows is one alert, not hundreds.
  const key =
    e.stage === 'import'
      ? `import:${e.source_file ?? '?'}:${e.code}`
      : `process:${e.code}:${e.movement ? `${e.movement.store_number}:${e.movement.item_number}` : (e.topic ?? '?')}`
  const line =
    e.stage === 'import'
      ? e.source_line === null
        ? e.message // the whole file was refused; the message names it
        : `line ${e.source_line}: ${e.message}`
      : `${e.code}${where ? ` (${where})` : ''}: ${e.message}`
  return { sourceId: `error:${e.error_id}`, key, kind: 'error', severity: 'warning', line }
}

export function fromLowStock(l: LowStock, rules: AlertRules): AlertItem | undefined {
  if (!rules.lowStockSeverities.includes(l.severity)) return undefined
  return {
    sourceId: `low-stock:${l.event_id}`,
    // One alert per episode and severity: the event id already says which.
    key: `low-stock:${l.event_id}`,
    kind: 'low-stock',
    severity: l.severity === 'OUT_OF_STOCK' ? 'critical' : 'warning',
    line:
      l.severity === 'OUT_OF_STOCK'
        ? `store ${l.store_number} item ${l.item_number} is OUT OF STOCK`
        : `store ${l.store_number} item ${l.item_number} is low: ${l.quantity} left (threshold ${l.threshold})`,
  }
}

export interface PendingGroup {
  key: string
  kind: string
  severity: string
  lines: string[]
  count: number
}

/** The text of one alert: a single item reads as itself, a burst as a digest with its first lines. */
export function alertText(g: PendingGroup, maxLines = 5): string {
  if (g.count === 1) return g.lines[0] ?? g.key
  const first = g.lines.slice(0, maxLines).join('; ')
  if (g.key.startsWith('import:')) {
    const [, file, code] = /^import:(.*):([A-Z_]+)$/.exec(g.key) ?? []
    return `${g.count} rows rejected from file ${file} (${code}); first lines: ${first}`
  }
  return `${g.count} × ${g.key}; first: ${first}`
}
