// The processor service: consumes `events`, applies each batch exactly once, retries parked sales,
// and relays side events from the outbox.
import type { Admin, Consumer, EachBatchPayload } from 'kafkajs'
import type { Config } from '../lib/config.ts'
import type { Sql } from '../lib/db.ts'
import { isRetriable } from '../lib/errors.ts'
import type { Logger } from '../lib/log.ts'
import type { Decoder } from '../lib/registry.ts'
import { backoffMs, createWaker, runLoop, sleep, type Waker } from '../lib/retry.ts'
import type { StockMovement } from '../schemas/contract.ts'
import {
  applyBatch,
  type BatchDeps,
  type BatchMessage,
  type BatchStats,
  OffsetGapError,
} from './apply-batch.ts'
import { readOffsets } from './ledger-store.ts'
import type { OutboxRelay } from './outbox-relay.ts'
import type { ProcessorMetrics } from './processor-metrics.ts'
import { retryDueParked } from './retry-parked.ts'

export interface ProcessorDeps {
  consumer: Consumer
  sql: Sql
  decoder: Decoder<StockMovement>
  relay: OutboxRelay
  log: Logger
  clock: () => number
  config: Pick<Config, 'processor' | 'topics'>
  metrics?: ProcessorMetrics
  admin?: Admin
  /** Called when the consumer crashed for good; main exits so a supervisor restarts the process. */
  onFatal: (err: unknown) => void
  /** Messages per Postgres transaction. */
  maxBatch?: number
  concurrency?: number
}

export interface Processor {
  start(): Promise<void>
  /** Finishes the batch in progress, commits, leaves the group, then flushes the outbox once more. */
  stop(): Promise<void>
  /** Partitions currently assigned, for /readyz. */
  assigned(): number
}

export function createProcessor(deps: ProcessorDeps): Processor {
  const { consumer, sql, log, config } = deps
  const topic = config.topics.events
  const groupId = config.processor.groupId
  const policy = {
    scheduleMs: config.processor.retryScheduleMs,
    maxAttempts: config.processor.maxAttempts,
    parkTimeoutMs: config.processor.parkTimeoutMs,
  }
  const batchDeps: BatchDeps = {
    sql,
    decoder: deps.decoder,
    clock: deps.clock,
    groupId,
    topics: config.topics,
    policy,
    lowStockDefault: config.processor.lowStockDefault,
  }
  const maxBatch = deps.maxBatch ?? 5000
  const stopping = new AbortController()
  let assignedCount = 0
  let loops: Promise<void>[] = []
  const relayWaker = createWaker()
  const relayKick = () => relayWaker.wake()

  async function seekToStored(assignment: Record<string, number[]>) {
    const partitions = assignment[topic] ?? []
    assignedCount = partitions.length
    if (partitions.length === 0) return
    const stored = await readOffsets(sql, groupId, topic)
    for (const partition of partitions) {
      const offset = stored.get(partition)
      if (offset !== undefined) consumer.seek({ topic, partition, offset: String(offset) })
    }
    log.info(
      { partitions, stored: Object.fromEntries(stored) },
      'partitions assigned; positioned at the ledger offsets',
    )
  }

  function observe(stats: BatchStats, ms: number, size: number) {
    deps.metrics?.observe(stats, ms, size)
    if (stats.failed + stats.conflicts + stats.undecodable + stats.lowStock > 0) relayKick()
    if (stats.undecodable > 0) log.warn({ count: stats.undecodable }, 'undecodable messages sent to errors')
  }

  async function eachBatch(payload: EachBatchPayload) {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload
    deps.metrics?.lag(batch.partition, Number(batch.offsetLag()))
    const all: BatchMessage[] = batch.messages.map((m) => ({
      offset: Number(m.offset),
      key: m.key,
      value: m.value,
      headers: m.headers,
    }))
    for (let i = 0; i < all.length; i += maxBatch) {
      const chunk = all.slice(i, i + maxBatch)
      for (let attempt = 1; ; attempt++) {
        if (!isRunning() || isStale()) return
        const started = performance.now()
        try {
          const stats = await applyBatch(batchDeps, batch.topic, batch.partition, chunk)
          observe(stats, performance.now() - started, chunk.length)
          break
        } catch (err) {
          if (err instanceof OffsetGapError) {
            log.warn({ err, partition: batch.partition }, 'batch is ahead of the ledger; seeking back')
            consumer.seek({ topic: batch.topic, partition: batch.partition, offset: String(err.expected) })
            return
          }
          if (!isRetriable(err)) throw err
          const delay = backoffMs(attempt, 200, 10_000)
          log.warn(
            { err, partition: batch.partition, offset: chunk[0]!.offset, attempt, retryInMs: delay },
            'apply failed; retrying',
          )
          await sleep(delay, stopping.signal)
          await heartbeat().catch(() => {})
        }
      }
      resolveOffset(String(chunk[chunk.length - 1]!.offset))
      await heartbeat()
    }
  }

  const loop = (name: string, everyMs: number, step: () => Promise<boolean>, waker?: Waker) =>
    runLoop({
      name,
      everyMs,
      step,
      waker,
      signal: stopping.signal,
      onError: (err, failures) => log.warn({ err, loop: name, failures }, `${name} failed; will retry`),
    })

  return {
    assigned: () => assignedCount,
    async start() {
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        seekToStored(e.payload.memberAssignment).catch((err) => {
          // Without the stored offsets the in-transaction fence still protects the ledger; log and go on.
          log.error({ err }, 'could not read stored offsets after assignment')
        })
      })
      consumer.on(consumer.events.CRASH, (e) => {
        if (!e.payload.restart) deps.onFatal(e.payload.error)
      })
      await consumer.subscribe({ topic, fromBeginning: true })
      await consumer.run({
        eachBatchAutoResolve: false,
        autoCommit: true,
        partitionsConsumedConcurrently: deps.concurrency ?? 3,
        eachBatch,
      })
      loops = [
        loop('parked retry', config.processor.retryPollMs, async () => {
          const changes = await retryDueParked({ ...batchDeps, policy })
          if (changes) {
            deps.metrics?.retried(changes)
            if (changes.outbox.length > 0) relayKick()
          }
          return changes !== undefined
        }),
        loop(
          'outbox relay',
          config.processor.outboxPollMs,
          async () => {
            const sent = await deps.relay.relayOnce()
            deps.metrics?.outboxSent(sent)
            return sent > 0
          },
          relayWaker,
        ),
      ]
    },
    async stop() {
      // Disconnect waits for the running eachBatch: the batch in progress commits before we leave the group.
      await consumer.disconnect()
      stopping.abort()
      await Promise.all(loops)
      await deps.relay
        .relayOnce()
        .catch((err) => log.warn({ err }, 'final outbox flush failed; rows stay for the next start'))
    },
  }
}
