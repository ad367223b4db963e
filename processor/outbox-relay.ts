// Publishes outbox rows written by committed transactions, then marks them sent.
// A crash between the send and the mark re-sends on restart: at least once, with deterministic ids.
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import type { Message, Producer } from 'kafkajs'
import type { Config } from '../lib/config.ts'
import type { Sql } from '../lib/db.ts'
import { createEncoder, type Encoder } from '../lib/registry.ts'
import type { SchemaName } from '../schemas/contract.ts'

export interface RelayDeps {
  sql: Sql
  producer: Producer
  registry: SchemaRegistry
  registryConfig: Config['registry']
  batchSize?: number
}

export interface OutboxRelay {
  /** Sends one batch of unsent rows; returns how many were sent. */
  relayOnce(): Promise<number>
  backlog(): Promise<number>
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

  return {
    async relayOnce() {
      // Failures (broker or Postgres away) leave the rows unsent; the caller's loop backs off and retries.
      return await deps.sql.begin(async (tx) => {
        // SKIP LOCKED lets two processors relay side by side without sending the same row twice.
        const rows = await tx`
            select id, topic, message_key, schema_name, payload from outbox
            where sent_at is null order by id limit ${deps.batchSize ?? 500}
            for update skip locked`
        if (rows.length === 0) return 0
        const byTopic = new Map<string, Message[]>()
        for (const r of rows) {
          const encoder = await encoderFor(r.topic, r.schema_name as SchemaName)
          const list = byTopic.get(r.topic) ?? []
          list.push({ key: r.message_key, value: encoder.encode(r.payload) })
          byTopic.set(r.topic, list)
        }
        await deps.producer.sendBatch({
          acks: -1,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        })
        await tx`update outbox set sent_at = now() where id = any(${rows.map((r) => r.id)}::bigint[])`
        return rows.length
      })
    },
    async backlog() {
      const [row] = await deps.sql`select count(*)::int as n from outbox where sent_at is null`
      return row?.n as number
    },
  }
}
