// Which errors and low-stock events become alerts, how they are grouped, and how an alert reads.
import type { LowStock, StockError } from '../schemas/contract.ts'
import { type LowStockDigest, type LowStockMark, lowStockText } from './low-stock-digest.ts'

/** Low-stock events group into one digest per window, judged when it closes (low-stock-digest.ts). */
export const LOW_STOCK_KEY = 'low-stock'

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
  /** The error code, counted per digest. */
  code?: string
  /** A rejected row of an imported file: the key its import's outcome is recorded under. */
  fileClaim?: string
  /** A rejected row's line in its file; absent for a file refused as a whole. */
  sourceLine?: number
  /** A low-stock event: its store, item and episode. */
  lowStock?: LowStockMark
}

/** What a person does about a processing error: the command that fixes it, when there is one. */
export function nextStep(e: StockError): string | undefined {
  const m = e.movement
  switch (e.code) {
    case 'INSUFFICIENT_STOCK':
    case 'UNKNOWN_ITEM':
      return m
        ? `book the missing stock for store ${m.store_number} item ${m.item_number}, then run ` +
            `stockflow redrive --code ${e.code} --store ${m.store_number} --item ${m.item_number}`
        : undefined
    case 'TOPIC_RESET':
      return 'if the recreated topic is right, run stockflow offsets --accept-reset'
    case 'TRANSACTION_CONFLICT':
      return 'the first payload stands; correct the source system that reused the id'
    case 'UNKNOWN_ORIGINAL':
      return m
        ? `check that ${m.reverses} is the movement to cancel; once it has been sent, run ` +
            `stockflow redrive --code UNKNOWN_ORIGINAL --store ${m.store_number} --item ${m.item_number}`
        : undefined
    case 'ALREADY_REVERSED':
      return 'nothing: the movement was reversed once already, and that reversal stands'
    case 'REVERSAL_OF_REVERSAL':
      return 'to redo the cancelled movement, send it again under a new transaction_id'
    case 'REVERSAL_MISMATCH':
      return "send the reversal again, under a new transaction_id, with the original's store, item and quantity"
    default:
      return undefined
  }
}

export function fromError(e: StockError, rules: AlertRules, fileClaim?: string): AlertItem | undefined {
  if (!rules.errorCodes.includes('*') && !rules.errorCodes.includes(e.code)) return undefined
  const where = e.movement ? `store ${e.movement.store_number} item ${e.movement.item_number}` : undefined
  // Import errors group by file, so a file full of bad rows is one alert, not hundreds.
  const key =
    e.stage === 'import'
      ? `import:${e.source_file ?? '?'}`
      : `process:${e.code}:${e.movement ? `${e.movement.store_number}:${e.movement.item_number}` : (e.topic ?? '?')}`
  if (e.stage === 'import') {
    // A file refused as a whole has no line; its message names the file.
    const line = e.source_line === null ? e.message : `line ${e.source_line} ${e.code}: ${e.message}`
    const item: AlertItem = {
      sourceId: `error:${e.error_id}`,
      key,
      kind: 'error',
      severity: 'warning',
      line,
      code: e.code,
    }
    if (e.source_line !== null) {
      item.sourceLine = e.source_line
      if (fileClaim) item.fileClaim = fileClaim
    }
    return item
  }
  // Processing errors name the transaction and where it came from, and the command that fixes it.
  const origin = e.source_file
    ? ` from ${e.source_file}${e.source_line === null ? '' : ` line ${e.source_line}`}`
    : ''
  const tx = e.movement ? ` transaction ${e.movement.transaction_id}${origin}` : origin
  const step = nextStep(e)
  const line = `${e.code}${where ? ` (${where})` : ''}:${tx ? `${tx}:` : ''} ${e.message}${step ? `. Next: ${step}` : ''}`
  return { sourceId: `error:${e.error_id}`, key, kind: 'error', severity: 'warning', line, code: e.code }
}

export function fromLowStock(l: LowStock, rules: AlertRules): AlertItem | undefined {
  if (!rules.lowStockSeverities.includes(l.severity)) return undefined
  return {
    sourceId: `low-stock:${l.event_id}`,
    key: LOW_STOCK_KEY,
    kind: 'low-stock',
    severity: l.severity === 'OUT_OF_STOCK' ? 'critical' : 'warning',
    line:
      l.severity === 'OUT_OF_STOCK'
        ? `store ${l.store_number} item ${l.item_number} is OUT OF STOCK`
        : `store ${l.store_number} item ${l.item_number} is low: ${l.quantity} left (threshold ${l.threshold})`,
    lowStock: { store: l.store_number, item: l.item_number, episode: l.episode },
  }
}

export interface PendingGroup {
  key: string
  kind: string
  severity: string
  lines: string[]
  count: number
  /** Items per error code. */
  codes: Record<string, number>
  /** For a file's rejected rows: where the importer archived them, relative to the input folder. */
  rejectedCsv?: string | null
  /** The file failed as a whole after its rows were read: there is no rejected-rows file to fix. */
  fileFailed?: boolean
  /** How many of the items are rejected rows (with a line), not files refused as a whole. */
  rows?: number
  /** A low-stock window, judged against the ledger when it closed. */
  lowStock?: LowStockDigest
}

/** What to do with a file's rejected rows: fix them in the archived rejected CSV, or in the file itself. */
function fixRows(g: PendingGroup, file: string, them: 'it' | 'them'): string {
  return g.fileFailed
    ? `The file failed as a whole (its own alert says why): fix ${them === 'it' ? 'this row' : 'these rows'} in the file itself and drop it again.`
    : `Fix ${them} in ${g.rejectedCsv ?? `processed/${file}.rejected.csv`} and drop it into the input folder again.`
}

/**
 * The text of one alert: a burst reads as a digest with its first lines; a single item as itself, except a
 * single rejected row, which names its file and code as the digest does.
 */
export function alertText(g: PendingGroup, maxLines = 5): string {
  if (g.lowStock) return lowStockText(g.lowStock)
  const file = g.key.startsWith('import:') ? g.key.slice('import:'.length) : undefined
  if (g.count === 1) {
    const code = Object.keys(g.codes)[0]
    if (file === undefined || g.rows !== 1 || !code) return g.lines[0] ?? g.key
    return `1 row rejected from file ${file} (${code}): ${g.lines[0]}. ${fixRows(g, file, 'it')}`
  }
  const first = g.lines.slice(0, maxLines).join('; ')
  if (file !== undefined) {
    const codes = Object.entries(g.codes)
      .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
      .map(([c, n]) => `${c}=${n}`)
      .join(', ')
    return `${g.count} rows rejected from file ${file} (${codes}); first lines: ${first}. ${fixRows(g, file, 'them')}`
  }
  return `${g.count} × ${g.key}; first: ${first}`
}
