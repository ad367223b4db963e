// Publishes outbox rows written by committed transactions, then marks them sent.
// A crash between the send and the mark re-sends on restart: at least once, with deterministic ids.
//
// A request is bounded by bytes: rows that share a key share a partition, and the broker refuses a
// partition's batch over its message.max.bytes. A row that the broker refuses even alone is sent clipped
// (an error's quoted raw input is only there to identify it), and set aside if even that is refused, so
// one row that can never be sent cannot hold back every row behind it.
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import type { Message } from 'kafkajs'
import type { Config } from '../lib/config.ts'
import type { Sql } from '../lib/db.ts'
import { messageBytes, type RenewableProducer, refusedByBroker } from '../lib/kafka.ts'
import type { Logger } from '../lib/log.ts'
import { createEncoder, type Encoder } from '../lib/registry.ts'
import type { SchemaName, StockError } from '../schemas/contract.ts'
import { clipText } from '../schemas/movement-rules.ts'

export interface RelayDeps {
  sql: Sql
  producer: RenewableProducer
  registry: SchemaRegistry
  registryConfig: Config['registry']
  log?: Logger
  batchSize?: number
  /** Bytes of keys and values per request (default 512 KiB, half the broker's default message.max.bytes). */
  maxRequestBytes?: number
}

export interface OutboxRelay {
  /** Sends one batch of unsent rows; returns how many were handled (sent, or set aside as unsendable). */
  relayOnce(): Promise<number>
  backlog(): Promise<number>
}

interface Row {
  id: string
  topic: string
  message_key: string | null
  schema_name: SchemaName
  payload: unknown
}

/** What an error keeps of quoted input when its row had to be clipped to be sent at all. */
const CLIPPED_TEXT_CHARS = 1024

/** The error with its quoted input cut short, saying where the whole of it is kept. */
export function clippedError(payload: StockError, outboxId: string): StockError {
  return {
    ...payload,
    message: `${clipText(payload.message, CLIPPED_TEXT_CHARS)} (clipped to be sent; the whole error is outbox row ${outboxId})`,
    raw_row: payload.raw_row == null ? payload.raw_row : clipText(payload.raw_row, CLIPPED_TEXT_CHARS),
    raw_value_base64:
      payload.raw_value_base64 == null
        ? payload.raw_value_base64
        : payload.raw_value_base64.slice(0, CLIPPED_TEXT_CHARS),
  }
}

/** The longest run of rows from the head whose messages fit in `budget` bytes; at least one row. */
export function takeWithin(sizes: number[], budget: number): number {
  let take = 0
  let bytes = 0
  while (take < sizes.length && (take === 0 || bytes + sizes[take]! <= budget)) {
    bytes += sizes[take]!
    take++
  }
  return take
}

export function createOutboxRelay(deps: RelayDeps): OutboxRelay {
  const encoders = new Map<string, Promise<Encoder<unknown>>>()
  const encoderFor = (topic: string, schema: SchemaName) => {
    const k = `${topic}\u0000${schema}`
    let e = encoders.get(k)
    if (!e) {
      e = createEncoder<unknown>(deps.registry, deps.registryConfig, topic, schema)
      e.catch(() => encoders.delete(k))
      encoders.set(k, e)
    }
    return e
  }
  const maxRequestBytes = deps.maxRequestBytes ?? 512 * 1024

  async function clip(row: Row): Promise<Buffer> {
    const encoder = await encoderFor(row.topic, row.schema_name)
    return encoder.encode(clippedError(row.payload as StockError, row.id))
  }

  async function send(messages: { row: Row; message: Message }[]): Promise<void> {
    const byTopic = new Map<string, Message[]>()
    for (const { row, message } of messages) {
      const list = byTopic.get(row.topic) ?? []
      list.push(message)
      byTopic.set(row.topic, list)
    }
    await deps.producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    })
  }

  return {
    async relayOnce() {
      // Failures (broker or Postgres away) leave the rows unsent; the caller's loop backs off and retries.
      return await deps.sql.begin(async (tx) => {
        // SKIP LOCKED lets two processors relay side by side without sending the same row twice.
        const rows = (await tx`
            select id, topic, message_key, schema_name, payload from outbox
            where sent_at is null and parked_at is null order by id limit ${deps.batchSize ?? 500}
            for update skip locked`) as unknown as Row[]
        if (rows.length === 0) return 0
        const pending: { row: Row; message: Message; size: number }[] = []
        for (const row of rows) {
          const encoder = await encoderFor(row.topic, row.schema_name)
          const value = encoder.encode(row.payload)
          const message = { key: row.message_key, value }
          pending.push({ row, message, size: messageBytes(message) })
        }
        // The rows of one request, then the next, until this selection is sent; a refused request is split.
        let budget = maxRequestBytes
        const sent: string[] = []
        const parked: { id: string; reason: string }[] = []
        while (pending.length > 0) {
          const take = takeWithin(
            pending.map((p) => p.size),
            budget,
          )
          const batch = pending.slice(0, take)
          try {
            await send(batch)
            sent.push(...batch.map((b) => b.row.id))
            pending.splice(0, take)
          } catch (err) {
            const refused = refusedByBroker(err)
            if (!refused) throw err
            // Part of the refused request may have been written; a new producer id keeps what follows from
            // being taken for duplicates or refused as out of order. Rows resent here are at least once.
            await deps.producer.renew()
            if (take > 1) {
              // Halves of what was refused, so each retry holds fewer rows (and resends fewer written ones).
              budget = Math.floor(batch.reduce((n, b) => n + b.size, 0) / 2)
              continue
            }
            const [only] = batch
            const clipped = only!.row.schema_name === 'StockError' ? await clip(only!.row) : undefined
            if (clipped) {
              try {
                await send([{ row: only!.row, message: { key: only!.row.message_key, value: clipped } }])
                sent.push(only!.row.id)
                deps.log?.warn(
                  { outboxId: only!.row.id, topic: only!.row.topic, reason: refused },
                  'outbox row sent clipped: the broker refused it whole',
                )
                pending.shift()
                continue
              } catch (again) {
                if (!refusedByBroker(again)) throw again
                await deps.producer.renew()
              }
            }
            parked.push({ id: only!.row.id, reason: `the broker refused it (${refused}) even alone` })
            deps.log?.error(
              { err, outboxId: only!.row.id, topic: only!.row.topic, reason: refused },
              'outbox row set aside: the broker refuses it even alone; it stays in outbox with parked_at',
            )
            pending.shift()
          }
        }
        if (sent.length > 0) await tx`update outbox set sent_at = now() where id = any(${sent}::bigint[])`
        for (const p of parked) {
          await tx`update outbox set parked_at = now(), park_reason = ${p.reason} where id = ${p.id}`
        }
        return sent.length + parked.length
      })
    },
    async backlog() {
      const [row] =
        await deps.sql`select count(*)::int as n from outbox where sent_at is null and parked_at is null`
      return row?.n as number
    },
  }
}
