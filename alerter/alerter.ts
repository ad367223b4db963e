// The alerter service: consumes `errors` and `low-stock`, groups bursts into digests, throttles repeats,
// logs every alert and delivers it to the webhook until the webhook takes it.
import { createHash } from 'node:crypto'
import type { Consumer, EachBatchPayload } from 'kafkajs'
import type { Config } from '../lib/config.ts'
import type { Sql } from '../lib/db.ts'
import { DecodeError } from '../lib/errors.ts'
import { type ConsumerKeeper, keepConsumerRunning } from '../lib/kafka.ts'
import type { Logger } from '../lib/log.ts'
import type { Decoder } from '../lib/registry.ts'
import { runLoop } from '../lib/retry.ts'
import type { LowStock, StockError } from '../schemas/contract.ts'
import { FILE_CLAIM_HEADER } from '../schemas/headers.ts'
import { addPending, insertAlert, lowStateNow, recentlyAlerted, takeDueGroups } from './alert-store.ts'
import { createDelivery } from './delivery.ts'
import { digestLowStock, lowStockText } from './low-stock-digest.ts'
import { type AlertItem, alertText, fromError, fromLowStock } from './rules.ts'
import type { Sink } from './webhook.ts'

export interface AlerterDeps {
  consumer: Consumer
  sql: Sql
  errors: Decoder<StockError>
  lowStock: Decoder<LowStock>
  /** Undefined: alerts go to the log only. */
  sink?: Sink
  log: Logger
  clock: () => number
  config: Pick<Config, 'alerter' | 'topics'>
  onFatal: (err: unknown) => void
  onAlert?: (outcome: 'sent' | 'failed' | 'given-up' | 'throttled') => void
}

export interface Alerter {
  start(): Promise<void>
  stop(): Promise<void>
  assigned(): number
}

export function createAlerter(deps: AlerterDeps): Alerter {
  const { sql, log, config } = deps
  const cfg = config.alerter
  const rules = { errorCodes: cfg.errorCodes, lowStockSeverities: cfg.lowStockSeverities }
  const stopping = new AbortController()
  let loops: Promise<void>[] = []
  let assigned = 0
  let keeper: ConsumerKeeper | undefined

  async function eachBatch({ batch, resolveOffset, heartbeat }: EachBatchPayload) {
    const items: AlertItem[] = []
    const seenOnly: string[] = []
    for (const m of batch.messages) {
      try {
        const item =
          batch.topic === config.topics.errors
            ? fromError(await deps.errors.decode(m.value), rules, m.headers?.[FILE_CLAIM_HEADER]?.toString())
            : fromLowStock(await deps.lowStock.decode(m.value), rules)
        if (item) items.push(item)
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err
        log.error(
          { err, topic: batch.topic, partition: batch.partition, offset: m.offset },
          'undecodable message skipped',
        )
        seenOnly.push(`raw:${batch.topic}:${batch.partition}:${m.offset}`)
      }
    }
    // Offsets move only after the items are durable in Postgres; a redelivery is dropped by source id.
    await sql.begin((tx) => addPending(tx, items, seenOnly))
    const last = batch.messages[batch.messages.length - 1]
    if (last) resolveOffset(last.offset)
    await heartbeat()
  }

  async function flushDue(): Promise<boolean> {
    const now = deps.clock()
    const quiet: { ids: string[]; text: string }[] = []
    const created = await sql.begin(async (tx) => {
      const groups = await takeDueGroups(tx, cfg.digestWindowMs, cfg.importHoldMs, now)
      const out = []
      for (const g of groups) {
        if (g.sightings) {
          // Judged as the window closes: only items still low then are alerted; those that recovered are counted.
          const digest = digestLowStock(g.sightings, await lowStateNow(tx, g.sightings))
          if (digest.stillLow.length === 0) {
            quiet.push({ ids: g.ids, text: lowStockText(digest) })
            continue
          }
          g.lowStock = digest
          g.count = digest.stillLow.length
          g.severity = digest.stillLow.some((s) => s.severity === 'critical') ? 'critical' : 'warning'
        }
        const o = g.outcome
        if (o) {
          // The file is done: its outcome has the true count and where its rejected rows were archived.
          // One alert per file outcome; rows consumed after it was made find it there and add nothing.
          g.count = Math.max(o.rowsRejected, g.count)
          if (Object.keys(o.rejectedByCode).length > 0) g.codes = o.rejectedByCode
          g.rejectedCsv = o.rejectedCsv
          g.fileFailed = o.failed
        }
        // A file's outcome and a low-stock window are each alerted once by construction; a repeat of either
        // is news (another import, another crossing), so neither is throttled.
        const throttled = o || g.lowStock ? false : await recentlyAlerted(tx, g.key, cfg.throttleMs, now)
        const alertId = createHash('sha256')
          .update(o ? `${g.key}\u0000outcome:${o.id}` : `${g.key}\u0000${g.ids[0]}`)
          .digest('hex')
          .slice(0, 32)
        const text = alertText(g)
        const inserted = await insertAlert(tx, {
          alert_id: alertId,
          kind: g.kind,
          alert_key: g.key,
          severity: g.severity,
          text,
          source_ids: g.ids,
          status: throttled ? 'throttled' : 'pending',
          item_count: g.count,
          now,
        })
        if (inserted) out.push({ alertId, g, text, throttled })
      }
      return out
    })
    for (const { ids, text } of quiet) log.info({ lowStock: { events: ids.length } }, `${text}; no alert`)
    for (const { alertId, g, text, throttled } of created) {
      // The log is the sink that always works; throttled alerts are logged at a lower level.
      const fields = {
        alert: { id: alertId, key: g.key, kind: g.kind, severity: g.severity, count: g.count },
      }
      if (throttled) {
        log.info({ ...fields, throttled: true }, text)
        deps.onAlert?.('throttled')
      } else log.warn(fields, text)
    }
    return false
  }

  const deliverDue = createDelivery({
    sql,
    sink: deps.sink,
    log,
    clock: deps.clock,
    config: cfg,
    onAlert: deps.onAlert,
  })

  const loop = (name: string, everyMs: number, step: () => Promise<boolean>) =>
    runLoop({
      name,
      everyMs,
      step,
      signal: stopping.signal,
      onError: (err, failures) => log.warn({ err, loop: name, failures }, `${name} failed; will retry`),
    })

  return {
    assigned: () => assigned,
    async start() {
      deps.consumer.on(deps.consumer.events.GROUP_JOIN, (e) => {
        assigned = Object.values(e.payload.memberAssignment).reduce((n, ps) => n + ps.length, 0)
      })
      const run = async () => {
        await deps.consumer.subscribe({
          topics: [config.topics.errors, config.topics.lowStock],
          fromBeginning: true,
        })
        await deps.consumer.run({ eachBatchAutoResolve: false, eachBatch })
      }
      // A broker outage that kafkajs gives up on restarts the consumer, as in the processor; a bug exits.
      keeper = keepConsumerRunning(deps.consumer, { run, log, onFatal: deps.onFatal })
      await keeper.start()
      const tick = Math.max(20, Math.min(500, Math.floor(cfg.digestWindowMs / 4)))
      loops = [loop('alert digest', tick, flushDue), loop('alert delivery', tick, deliverDue)]
    },
    async stop() {
      await keeper?.stop()
      await deps.consumer.disconnect()
      stopping.abort()
      await Promise.all(loops)
    },
  }
}
