// The foundation against the real services: a topic, a registered schema, an encoded round trip, migrations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadMigrations, migrate } from '../lib/db.ts'
import { createIdempotentProducer, createKafka, ensureTopics } from '../lib/kafka.ts'
import { createDecoder, createEncoder, createRegistry, valueSubject } from '../lib/registry.ts'
import type { StockMovement } from '../schemas/contract.ts'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'

describe('local stack round trip', () => {
  let ctx: TestContext
  beforeAll(async () => {
    ctx = await createTestContext('roundtrip')
  })
  afterAll(async () => {
    await ctx.close()
  })

  it('produces and consumes an Avro message through the real broker and registry', async () => {
    const kafka = createKafka(ctx.config.kafka, ctx.log)
    const admin = kafka.admin()
    await admin.connect()
    const topic = ctx.config.topics.events
    expect(await ensureTopics(admin, [{ topic, partitions: 2 }])).toEqual([topic])
    expect(await ensureTopics(admin, [{ topic, partitions: 2 }])).toEqual([])
    const meta = await admin.fetchTopicMetadata({ topics: [topic] })
    expect(meta.topics[0]?.partitions).toHaveLength(2)

    const registry = createRegistry(ctx.config.registry)
    const encoder = await createEncoder<StockMovement>(registry, ctx.config.registry, topic, 'StockMovement')
    // The registry knows the subject and fetches the schema back by id.
    expect(await registry.getLatestSchemaId(valueSubject(topic))).toBe(encoder.schemaId)
    const again = await createEncoder<StockMovement>(registry, ctx.config.registry, topic, 'StockMovement')
    expect(again.schemaId).toBe(encoder.schemaId)

    const value: StockMovement = {
      transaction_id: '8947695b-7f19-44b6-96b6-7f8ed041fe57',
      event_type: 'incoming',
      occurred_at: Date.parse('2019-04-14T03:47:13Z'),
      store_number: 5,
      item_number: 12,
      quantity: 400,
    }
    const producer = createIdempotentProducer(kafka)
    await producer.connect()
    await producer.send({ topic, acks: -1, messages: [{ key: '5:12', value: encoder.encode(value) }] })

    const received: StockMovement[] = []
    const decoder = createDecoder<StockMovement>(createRegistry(ctx.config.registry), 'StockMovement')
    const consumer = kafka.consumer({ groupId: ctx.config.processor.groupId })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ message }) => {
        received.push(await decoder.decode(message.value))
      },
    })
    await pollUntil('the message to come back', async () => received.length > 0)
    expect(received).toEqual([{ ...value, to_store_number: null, reverses: null }])
    await Promise.all([consumer.disconnect(), producer.disconnect(), admin.disconnect()])
  })

  it('runs the migrations twice; the second run is a no-op', async () => {
    const schema = `${ctx.id}_mig`
    const versions = loadMigrations().map((m) => m.version)
    expect(versions.slice(0, 3)).toEqual(['001', '002', '003'])
    expect(await migrate(ctx.sql, { schema })).toEqual(versions)
    expect(await migrate(ctx.sql, { schema })).toEqual([])
    const [row] = await ctx.sql`select count(*)::int as n from ${ctx.sql(schema)}.schema_migrations`
    expect(row?.n).toBe(versions.length)
    await ctx.sql.unsafe(`drop schema "${schema}" cascade`)
  })
})
