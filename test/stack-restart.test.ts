// The local stack restarted between producing and consuming: Kafka keeps its records, and the registry
// must keep its schema ids, or events still on the topic no longer decode. A stack of its own, on its
// own ports and folder, since the shared test stack cannot be restarted under the other suites.
import { afterAll, describe, expect, it } from 'vitest'
import { type Stack, startStack } from '../infra/stack.ts'
import { loadConfig } from '../lib/config.ts'
import { createKafka, ensureTopics, pipelineTopics } from '../lib/kafka.ts'
import { createLogger } from '../lib/log.ts'
import { createDecoder, createEncoder, createRegistry } from '../lib/registry.ts'
import type { LowStock, StockMovement } from '../schemas/contract.ts'
import { pollUntil } from './support/context.ts'
import { movement } from './support/processor.ts'

// Below 32768, outside Linux's ephemeral range, so no client socket can hold one of them.
const PORTS = { kafka: 26092, kafkaController: 26093, registry: 26081, postgres: 26432 }
const DIR = process.env.TEST_RESTART_STACK_DIR ?? '.stack/test-restart'

describe('local stack restart', () => {
  let stack: Stack | undefined
  afterAll(async () => {
    await stack?.stop()
  })

  it('keeps schema ids, so events produced before a restart decode after it', async () => {
    stack = await startStack({ dir: DIR, ports: PORTS, fresh: true })
    const config = loadConfig({
      ...stack.env,
      TOPIC_EVENTS: 'restart.events',
      TOPIC_LOW_STOCK: 'restart.low-stock',
    })
    const log = createLogger({ name: 'stack-restart', level: 'fatal' })
    const sent = [movement('incoming', 1, 1, 5), movement('sale', 1, 1, 2)]

    // Before: a LowStock schema first, then StockMovement, so the movement schema does not get id 1.
    let registry = createRegistry(config.registry)
    await createEncoder<LowStock>(registry, config.registry, config.topics.lowStock, 'LowStock')
    const enc = await createEncoder<StockMovement>(
      registry,
      config.registry,
      config.topics.events,
      'StockMovement',
    )
    let kafka = createKafka(config.kafka, log)
    const admin = kafka.admin()
    await admin.connect()
    await ensureTopics(admin, pipelineTopics(config.topics))
    await admin.disconnect()
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({
      topic: config.topics.events,
      acks: -1,
      messages: sent.map((m) => ({ key: '1:1', value: enc.encode(m) })),
    })
    await producer.disconnect()

    await stack.stop()
    stack = await startStack({ dir: DIR, ports: PORTS })

    // After: registered in the other order, as a fresh in-memory registry would hand out new ids.
    registry = createRegistry(config.registry)
    await createEncoder<StockMovement>(registry, config.registry, config.topics.events, 'StockMovement')
    await createEncoder<LowStock>(registry, config.registry, config.topics.lowStock, 'LowStock')
    const decoder = createDecoder<StockMovement>(registry, 'StockMovement')
    kafka = createKafka(config.kafka, log)
    const consumer = kafka.consumer({ groupId: 'restart-reader', maxWaitTimeInMs: 100 })
    const got: StockMovement[] = []
    await consumer.connect()
    await consumer.subscribe({ topic: config.topics.events, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ message }) => void got.push(await decoder.decode(message.value)),
    })
    try {
      await pollUntil('both events decoded after the restart', async () => got.length >= 2, {
        timeoutMs: 60_000,
      })
    } finally {
      await consumer.disconnect()
    }
    expect(got).toEqual(sent.map((m) => ({ ...m, to_store_number: null, reverses: null })))
  })
})
