// Kafka helpers for integration tests: topic setup, producers, and reading a topic back decoded.
import type { Kafka } from 'kafkajs'
import { createImportEncoders } from '../../importer/encoders.ts'
import {
  createIdempotentProducer,
  createKafka,
  ensureTopics,
  pipelineTopics,
  type RenewableProducer,
} from '../../lib/kafka.ts'
import { createDecoder, createRegistry } from '../../lib/registry.ts'
import type { SchemaName } from '../../schemas/contract.ts'
import { pollUntil, type TestContext, uniqueName } from './context.ts'

export interface Decoded<T> {
  partition: number
  offset: string
  key: string | null
  headers: Record<string, string>
  value: T
}

export async function setupTopics(ctx: TestContext): Promise<Kafka> {
  const kafka = createKafka(ctx.config.kafka, ctx.log)
  const admin = kafka.admin()
  await admin.connect()
  await ensureTopics(admin, pipelineTopics(ctx.config.topics))
  await admin.disconnect()
  return kafka
}

export async function connectProducer(kafka: Kafka): Promise<RenewableProducer> {
  const producer = createIdempotentProducer(kafka)
  await producer.connect()
  return producer
}

export async function encoders(ctx: TestContext) {
  const registry = createRegistry(ctx.config.registry)
  return { registry, ...(await createImportEncoders(registry, ctx.config)) }
}

/** Reads a topic from the beginning until `count` messages arrived (bounded wait), decoding each. */
export async function readTopic<T>(
  ctx: TestContext,
  kafka: Kafka,
  topic: string,
  schema: SchemaName,
  count: number,
  opts: { timeoutMs?: number; settleMs?: number } = {},
): Promise<Decoded<T>[]> {
  const decoder = createDecoder<T>(createRegistry(ctx.config.registry), schema)
  const consumer = kafka.consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 100 })
  const out: Decoded<T>[] = []
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      out.push({
        partition,
        offset: message.offset,
        key: message.key?.toString() ?? null,
        headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
        value: await decoder.decode(message.value),
      })
    },
  })
  try {
    await pollUntil(`${count} messages on ${topic} (have ${out.length})`, async () => out.length >= count, {
      timeoutMs: opts.timeoutMs ?? 60_000,
    })
    // Nothing beyond the expected count may arrive either: wait for the high watermarks to be consumed.
    const admin = kafka.admin()
    await admin.connect()
    const total = (await admin.fetchTopicOffsets(topic)).reduce(
      (n, p) => n + Number(p.high) - Number(p.low),
      0,
    )
    await admin.disconnect()
    await pollUntil(`all ${total} messages on ${topic}`, async () => out.length >= total, {
      timeoutMs: 30_000,
    })
  } finally {
    await consumer.disconnect()
  }
  return out
}
