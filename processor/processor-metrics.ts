// The processor's Prometheus metrics.
import type { Metrics } from '../lib/metrics.ts'
import type { BatchStats } from './batch-transaction.ts'
import type { Changes } from './ledger-model.ts'

export interface ProcessorMetrics {
  observe(stats: BatchStats, ms: number, size: number): void
  retried(changes: Changes): void
  outboxSent(n: number): void
  lag(partition: number, lag: number): void
  halted(partitions: number): void
}

export function createProcessorMetrics(metrics: Metrics): ProcessorMetrics {
  const events = metrics.counter('stockflow_process_events_total', 'Events by outcome', ['outcome'])
  const batchSize = metrics.histogram(
    'stockflow_process_batch_size',
    'Messages per transaction',
    [1, 10, 100, 500, 1000, 2500, 5000],
  )
  const batchSeconds = metrics.histogram(
    'stockflow_process_batch_seconds',
    'Transaction latency',
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  )
  const outbox = metrics.counter('stockflow_outbox_sent_total', 'Outbox rows published')
  const halted = metrics.gauge(
    'stockflow_partitions_halted',
    'Partitions halted because their topic is behind the ledger (recreated); see stockflow offsets',
  )
  const lag = metrics.gauge('stockflow_consumer_lag', 'Messages behind the high watermark', ['partition'])
  return {
    observe(stats, ms, size) {
      batchSize.observe(size)
      batchSeconds.observe(ms / 1000)
      for (const [outcome, n] of Object.entries(stats)) if (n > 0) events.inc({ outcome }, n)
    },
    retried(changes) {
      events.inc({ outcome: 'applied' }, changes.applied.length)
      events.inc({ outcome: 'failed' }, changes.failed.length)
    },
    outboxSent: (n) => outbox.inc(n),
    lag: (partition, n) => lag.set({ partition: String(partition) }, n),
    halted: (n) => halted.set(n),
  }
}
