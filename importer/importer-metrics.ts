// The importer's Prometheus metrics.

import type { Receipt } from '../ledger/input-folder.ts'
import type { Counter, Metrics } from '../lib/metrics.ts'

export interface ImporterMetrics {
  files: Counter
  observe(receipt: Receipt): void
}

export function createImporterMetrics(metrics: Metrics): ImporterMetrics {
  const files = metrics.counter('stockflow_import_files_total', 'Files handled, by outcome', ['status'])
  const rows = metrics.counter('stockflow_import_rows_total', 'CSV rows, by outcome', ['outcome'])
  return {
    files,
    observe(receipt) {
      files.inc({ status: receipt.status })
      rows.inc({ outcome: 'read' }, receipt.rows_read)
      rows.inc({ outcome: 'accepted' }, receipt.rows_accepted)
      rows.inc({ outcome: 'rejected' }, receipt.rows_rejected)
    },
  }
}
