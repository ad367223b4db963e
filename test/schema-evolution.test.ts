// StockMovement version 2 (the corrections) against version 1, on the real registry: the registry accepts
// v2 as a BACKWARD-compatible successor of v1, events written with v1 are still read and applied, and a
// processor built on v1 sends the new types to `errors` and goes on, never crashing on them.
import { readFileSync } from 'node:fs'
import avro from 'avsc'
import type { Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RenewableProducer } from '../lib/kafka.ts'
import { createRegistry, registerSchema, valueSubject } from '../lib/registry.ts'
import {
  type AvroSchemaJson,
  movementKey,
  SCHEMAS,
  type StockError,
  type StockMovement,
} from '../schemas/contract.ts'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { connectProducer, readTopic, setupTopics } from './support/kafka.ts'
import { movement, startProcessor } from './support/processor.ts'

const V1 = JSON.parse(
  readFileSync(new URL('./fixtures/StockMovement.v1.avsc', import.meta.url), 'utf8'),
) as AvroSchemaJson

/** Confluent framing: magic byte, schema id, Avro body. */
function framed(id: number, type: avro.Type, value: unknown): Buffer {
  const head = Buffer.alloc(5)
  head.writeInt32BE(id, 1)
  return Buffer.concat([head, type.toBuffer(value)])
}

describe('StockMovement schema evolution', () => {
  let ctx: TestContext
  let kafka: Kafka
  let producer: RenewableProducer
  const v1Type = avro.Type.forSchema(V1 as avro.Schema)
  const v2Type = avro.Type.forSchema(SCHEMAS.StockMovement as avro.Schema)
  const ids = { v1: 0, v2: 0 }
  const send = (id: number, type: avro.Type, ms: StockMovement[]) =>
    producer.send({
      topic: ctx.config.topics.events,
      acks: -1,
      messages: ms.map((m) => ({
        key: movementKey(m.store_number, m.item_number),
        value: framed(id, type, m),
      })),
    })
  const level = async (item: number) =>
    Number(
      (await ctx.sql`select quantity from stock_levels where store_number = 1 and item_number = ${item}`)[0]
        ?.quantity ?? -1,
    )

  beforeAll(async () => {
    ctx = await createTestContext('evolution', { OUTBOX_POLL_MS: '50', EVENTS_PARTITIONS: '1' })
    kafka = await setupTopics(ctx)
    producer = await connectProducer(kafka)
    const registry = createRegistry(ctx.config.registry)
    const subject = valueSubject(ctx.config.topics.events)
    // Registered in the order they were released: the registry checks v2 against v1 under BACKWARD.
    ids.v1 = await registerSchema(registry, ctx.config.registry, subject, V1)
    ids.v2 = await registerSchema(registry, ctx.config.registry, subject, SCHEMAS.StockMovement)
  })
  afterAll(async () => {
    await producer.disconnect()
    await ctx.close()
  })

  it('has two versions under the subject, with the project compatibility level set', async () => {
    expect(ids.v2).not.toBe(ids.v1)
    const base = ctx.config.registry.url.replace(/\/$/, '')
    const subject = encodeURIComponent(valueSubject(ctx.config.topics.events))
    const level = (await (await fetch(`${base}/config/${subject}`)).json()) as Record<string, string>
    expect(level.compatibilityLevel ?? level.compatibility).toBe('BACKWARD')
    const versions = (await (await fetch(`${base}/subjects/${subject}/versions`)).json()) as number[]
    expect(versions).toHaveLength(2)
  })

  it('a processor of the previous version applies what it knows and sends the new types to errors', async () => {
    const old = await startProcessor(ctx, producer, { reader: v1Type })
    try {
      const incoming = movement('incoming', 1, 1, 10)
      const transfer = movement('transfer', 1, 1, 4, { to: 2 })
      const sale = movement('sale', 1, 1, 3)
      await send(ids.v1, v1Type, [incoming])
      await send(ids.v2, v2Type, [transfer, sale])
      await pollUntil('the sale after the transfer applied', async () => (await level(1)) === 7)
      const [rejected] = await ctx.sql`select code, reason, "offset" from rejected_messages`
      expect([rejected?.code, Number(rejected?.offset)]).toEqual(['UNDECODABLE', 1])
      expect(rejected?.reason).toMatch(/event_type is not one this processor knows/)
      const errors = await readTopic<StockError>(ctx, kafka, ctx.config.topics.errors, 'StockError', 1)
      expect(errors.map((e) => [e.value.code, e.value.offset])).toEqual([['UNDECODABLE', '1']])
    } finally {
      await old.stop()
    }
  })

  it('the current processor applies events written with version 1 next to version 2 corrections', async () => {
    const ctx2 = await createTestContext('evolution_v2', { EVENTS_PARTITIONS: '1' })
    const own = { ...ctx, ...ctx2, config: { ...ctx2.config, topics: ctx.config.topics } }
    const current = await startProcessor(own, producer)
    try {
      const count = movement('adjustment', 1, 2, 5)
      await send(ids.v1, v1Type, [movement('incoming', 1, 2, 8)])
      await send(ids.v2, v2Type, [count])
      await pollUntil('count applied', async () => {
        const [r] =
          await ctx2.sql`select quantity from stock_levels where store_number = 1 and item_number = 2`
        return r !== undefined && Number(r.quantity) === 5
      })
      // The topic's first three records, read by version 2: the v1 incoming of item 1 and the v2 transfer too.
      const [item1] =
        await ctx2.sql`select quantity from stock_levels where store_number = 1 and item_number = 1`
      const [item1to2] =
        await ctx2.sql`select quantity from stock_levels where store_number = 2 and item_number = 1`
      expect([Number(item1?.quantity), Number(item1to2?.quantity)]).toEqual([3, 4])
      expect((await ctx2.sql`select count(*)::int as n from rejected_messages`)[0]!.n).toBe(0)
    } finally {
      await current.stop()
      await ctx2.close()
    }
  })
})
