// The processor service: consumes `events`, applies each batch exactly once, retries parked sales,
// and relays side events from the outbox.
import type { Admin, Consumer, EachBatchPayload } from 'kafkajs'
import { markRead } from '../ledger/offsets.ts'
import { logRanges, openResets, type Position } from '../ledger/positioning.ts'
import type { Config } from '../lib/config.ts'
import type { Sql } from '../lib/db.ts'
import { isRetriable, KafkaError, TopicChangedError } from '../lib/errors.ts'
import { type ConsumerKeeper, keepConsumerRunning } from '../lib/kafka.ts'
import type { Logger } from '../lib/log.ts'
import type { Decoder } from '../lib/registry.ts'
import { backoffMs, createWaker, runLoop, sleep, type Waker } from '../lib/retry.ts'
import type { StockMovement } from '../schemas/contract.ts'
import {
  applyBatch,
  type BatchDeps,
  type BatchMessage,
  type BatchStats,
  refuseMessage,
} from './batch-transaction.ts'
import { applyOrIsolate, type ChunkResult } from './isolate-refused.ts'
import type { OutboxRelay } from './outbox-relay.ts'
import { retryDueParked } from './parked-retry-transaction.ts'
import { createPartitionTracker } from './partition-tracker.ts'
import { positionPartition } from './positioning.ts'
import type { ProcessorMetrics } from './processor-metrics.ts'
import { createRelayHealth } from './relay-health.ts'
import { recordProcessorSettings } from './settings-record.ts'

export interface ProcessorDeps {
  consumer: Consumer
  sql: Sql
  decoder: Decoder<StockMovement>
  relay: OutboxRelay
  log: Logger
  clock: () => number
  config: Pick<Config, 'processor' | 'topics'>
  metrics?: ProcessorMetrics
  /** Reads each partition's log range on assignment (retention, recreated topics). */
  admin: Admin
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
  /** Partitions halted because the topic is behind the ledger (recreated); /readyz fails while any is. */
  halted(): { partition: number; stored: number; logEnd: number }[]
  /** Re-checks every assigned partition against the log before its next batch (a topic vanished). */
  recheck(): void
  /**
   * The outbox relay when it has failed without a success for longer than `stalledAfterMs`: /readyz
   * reports it, since nothing the processor decides reaches `errors` or `low-stock` meanwhile.
   */
  relayStalled(stalledAfterMs: number): { sinceMs: number; error: string } | undefined
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
  /** The broker's view of one partition; any failure to get it is worth retrying. */
  async function logRange(t: string, partition: number) {
    try {
      const range = (await logRanges(deps.admin, t)).get(partition)
      if (range) return range
      throw new Error(`the broker knows no partition ${partition} of ${t}`)
    } catch (err) {
      throw new KafkaError(
        'KAFKA_ERROR',
        `reading the log range of ${t}[${partition}] failed: ${(err as Error).message}`,
        {
          retriable: true,
          cause: err,
        },
      )
    }
  }
  const batchDeps: BatchDeps = {
    logRange,
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
  let keeper: ConsumerKeeper | undefined
  let loops: Promise<void>[] = []
  const relayWaker = createWaker()
  const relayKick = () => relayWaker.wake()
  const tracker = createPartitionTracker()
  const positionDeps = { sql, admin: deps.admin, groupId, topics: config.topics, clock: deps.clock }

  function onAssigned(assignment: Record<string, number[]>) {
    const partitions = assignment[topic] ?? []
    // A halt is re-detected from the ledger on every assignment; a paused partition must not stay paused unseen.
    tracker.assign(partitions)
    deps.metrics?.halted(0)
    if (partitions.length > 0) consumer.resume([{ topic, partitions }])
    log.info({ partitions }, 'partitions assigned; each starts at the ledger offset')
  }

  /**
   * Positions a partition at the ledger's offset on its first batch after an assignment. Returns true
   * when the batch in hand can be applied as it is, false when the consumer was moved (seek or pause).
   */
  async function position(partition: number, firstOffset: number, changed = false): Promise<boolean> {
    const range = await logRange(topic, partition)
    // Marked before the awaits below, so a recheck() that arrives meanwhile is not lost.
    tracker.positioning(partition)
    let pos: Position
    try {
      pos = await positionPartition(positionDeps, topic, partition, range, changed)
    } catch (err) {
      tracker.reposition(partition)
      throw err
    }
    if (pos.kind === 'halt') {
      tracker.halt(partition, { stored: pos.stored, log: pos.log })
      deps.metrics?.halted(tracker.halted().length)
      consumer.pause([{ topic, partitions: [partition] }])
      relayKick()
      log.error(
        { topic, partition, stored: pos.stored, logStart: pos.log.start, logEnd: pos.log.end },
        'topic is behind the ledger (recreated?); partition halted until `stockflow offsets --accept-reset`',
      )
      return false
    }
    if (pos.kind === 'expired') {
      relayKick()
      log.error(
        { topic, partition, lost: pos.lost, from: pos.stored, to: pos.offset },
        'records expired before they were applied',
      )
    }
    // The first batch was fetched from Kafka's committed offset, not the ledger's. Move to one before the
    // ledger's: that record is the last one applied, and its fingerprint proves the log is the same log
    // (batch-transaction.ts). After this seek a batch that starts later is a gap (transaction markers), not a skip.
    const target = pos.kind === 'resume' && pos.offset > range.start ? pos.offset - 1 : pos.offset
    if (firstOffset !== target) {
      consumer.seek({ topic, partition, offset: String(target) })
      return false
    }
    return true
  }

  /** Re-checks halted partitions; one whose reset an operator accepted resumes and is positioned afresh. */
  async function recheckHalted(): Promise<boolean> {
    const before = tracker.halted().map((h) => h.partition)
    if (before.length === 0) return false
    // Only partitions halted before the query: one halted while it ran is not taken for an accepted one.
    const still = await openResets(sql, groupId, topic)
    for (const partition of before) {
      if (still.has(partition) || !tracker.resume(partition)) continue
      consumer.resume([{ topic, partitions: [partition] }])
      log.warn({ topic, partition }, 'halted partition accepted by an operator; resuming')
    }
    deps.metrics?.halted(tracker.halted().length)
    return false
  }

  function observe(stats: BatchStats, ms: number, size: number) {
    deps.metrics?.observe(stats, ms, size)
    if (stats.failed + stats.conflicts + stats.undecodable + stats.invalid + stats.lowStock > 0) relayKick()
    if (stats.undecodable + stats.invalid > 0)
      log.warn(
        { undecodable: stats.undecodable, invalid: stats.invalid },
        'messages that are not movements sent to errors',
      )
  }

  /** Applies a chunk; a message Postgres refuses is isolated and sent to `errors` (isolate-refused.ts). */
  function applyChunk(partition: number, chunk: BatchMessage[]): Promise<ChunkResult> {
    return applyOrIsolate(
      {
        async apply(messages) {
          const started = performance.now()
          const stats = await applyBatch(
            batchDeps,
            topic,
            partition,
            messages,
            tracker.continues(partition, messages[0]!.offset),
          )
          observe(stats, performance.now() - started, messages.length)
          return stats
        },
        async refuse(message, err) {
          log.error(
            { err, topic, partition, offset: message.offset },
            'Postgres refused a message; sent to errors',
          )
          const stats = await refuseMessage(batchDeps, topic, partition, message, err)
          observe(stats, 0, 1)
          return stats
        },
      },
      chunk,
    )
  }

  /** Runs `step` until it succeeds, backing off on retriable errors; false when the batch was given up. */
  async function withRetry(
    what: string,
    context: Record<string, unknown>,
    still: () => boolean,
    heartbeat: () => Promise<void>,
    step: () => Promise<void>,
  ): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      if (!still()) return false
      try {
        await step()
        return true
      } catch (err) {
        if (!isRetriable(err)) throw err
        const delay = backoffMs(attempt, 200, 10_000)
        log.warn({ err, ...context, attempt, retryInMs: delay }, `${what} failed; retrying`)
        await sleep(delay, stopping.signal)
        await heartbeat().catch(() => {})
      }
    }
  }

  async function eachBatch(payload: EachBatchPayload) {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload
    const partition = batch.partition
    const still = () => isRunning() && !isStale() && !stopping.signal.aborted
    if (batch.messages.length === 0 || tracker.state(partition)?.kind === 'halted') return
    deps.metrics?.lag(partition, Number(batch.offsetLag()))
    const all = batch.messages
    if (tracker.needsPosition(partition)) {
      let ready = false
      const ok = await withRetry('positioning', { topic, partition }, still, heartbeat, async () => {
        ready = await position(partition, Number(all[0]!.offset))
      })
      if (!ok || !ready) return
    }
    for (let i = 0; i < all.length; i += maxBatch) {
      // Converted a chunk at a time: a fetch holds several chunks, and only the one in hand needs the copy.
      const chunk: BatchMessage[] = all.slice(i, i + maxBatch).map((m) => ({
        offset: Number(m.offset),
        timestamp: m.timestamp,
        key: m.key,
        value: m.value,
        headers: m.headers,
      }))
      const context = { topic, partition, offset: chunk[0]!.offset }
      let result = { skipped: 0, verified: 0 }
      let applied: boolean
      try {
        applied = await withRetry('apply', context, still, heartbeat, async () => {
          result = await applyChunk(partition, chunk)
        })
      } catch (err) {
        if (!(err instanceof TopicChangedError)) throw err
        await withRetry('halting', context, still, heartbeat, async () => {
          await position(partition, chunk[0]!.offset, true)
        })
        return
      }
      if (!applied) return
      if (result.skipped === chunk.length && result.verified === 0) {
        // Everything was below the ledger's offset: a redelivery after a rebalance, or a topic recreated
        // under us (kafkajs resets to the earliest offset by itself). Positioning tells which, and halts.
        tracker.reposition(partition)
        return
      }
      resolveOffset(String(chunk[chunk.length - 1]!.offset))
      tracker.applied(partition, chunk[chunk.length - 1]!.offset + 1)
      await heartbeat()
    }
    // A fetch's last offset counts the commit markers and aborted records it passed over.
    const applied = Number(all[all.length - 1]!.offset) + 1
    const read = Number(batch.lastOffset()) + 1
    if (read > applied) await noteRead(partition, applied, read)
  }

  /** Best effort: what was read past the last applied record only informs `stockflow offsets`. */
  async function noteRead(partition: number, from: number, to: number) {
    await markRead(sql, groupId, topic, partition, from, to).catch((err) =>
      log.warn({ err, topic, partition, from, to }, 'could not record the offsets read past the ledger'),
    )
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

  const relayHealth = createRelayHealth(deps.clock)

  return {
    assigned: () => tracker.assigned().length,
    relayStalled: (stalledAfterMs) => relayHealth.stalled(stalledAfterMs),
    halted: () =>
      tracker
        .halted()
        .map(({ partition, halt }) => ({ partition, stored: halt.stored, logEnd: halt.log.end })),
    recheck() {
      tracker.recheck()
    },
    async start() {
      await recordProcessorSettings(sql, {
        lowStockDefault: config.processor.lowStockDefault,
        lowStockTopic: config.topics.lowStock,
      })
      consumer.on(consumer.events.GROUP_JOIN, (e) => onAssigned(e.payload.memberAssignment))
      // A fetch that held only markers or aborted records reaches no eachBatch; kafkajs only reports it.
      consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
        const b = e.payload
        if (b.topic === topic && b.batchSize === 0 && b.firstOffset != null && b.lastOffset != null)
          void noteRead(b.partition, Number(b.firstOffset), Number(b.lastOffset) + 1)
      })
      const run = async () => {
        await consumer.subscribe({ topic, fromBeginning: true })
        await consumer.run({
          eachBatchAutoResolve: false,
          autoCommit: true,
          partitionsConsumedConcurrently: deps.concurrency ?? 3,
          eachBatch,
        })
      }
      keeper = keepConsumerRunning(consumer, { run, log, onFatal: deps.onFatal })
      // A broker restarting while we start is waited for, not a reason to exit (chaos seed 2110).
      await keeper.start()
      loops = [
        loop('parked retry', config.processor.retryPollMs, async () => {
          const pass = await retryDueParked({ ...batchDeps, policy })
          if (!pass) return false
          deps.metrics?.retried(pass.changes)
          if (pass.changes.outbox.length > 0) relayKick()
          // Straight on only while a full selection was taken; otherwise wait for the next poll.
          return pass.more
        }),
        loop('halted partitions', config.processor.haltRecheckMs, recheckHalted),
        loop(
          'outbox relay',
          config.processor.outboxPollMs,
          async () => {
            const sent = await relayHealth.track(() => deps.relay.relayOnce())
            deps.metrics?.outboxSent(sent)
            return sent > 0
          },
          relayWaker,
        ),
      ]
    },
    async stop() {
      // Only the consumer restart stops here; the batch in progress still finishes and commits.
      await keeper?.stop()
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
