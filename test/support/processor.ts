// Runs a real processor (consumer, producer, relay) in-process for integration tests.
import type avro from 'avsc'
import type { Sql } from '../../lib/db.ts'
import type { RenewableProducer } from '../../lib/kafka.ts'
import { createKafka } from '../../lib/kafka.ts'
import { createDecoder, createRegistry, type Encoder } from '../../lib/registry.ts'
import { createOutboxRelay, type OutboxRelay } from '../../processor/outbox-relay.ts'
import { createProcessor, type Processor } from '../../processor/processor.ts'
import { type EventType, movementKey, type StockMovement } from '../../schemas/contract.ts'
import type { TestContext } from './context.ts'

export async function startProcessor(
  ctx: TestContext,
  producer: RenewableProducer,
  opts: {
    sql?: Sql
    onFatal?: (err: unknown) => void
    relay?: OutboxRelay
    /** Reads events as a processor built on this (older) contract would. */
    reader?: avro.Type
  } = {},
): Promise<Processor> {
  const sql = opts.sql ?? ctx.sql
  const registry = createRegistry(ctx.config.registry)
  // Its own client, wired like processor/main.ts: the processor hears when a topic-partition vanishes.
  let recheck = () => {}
  const own = createKafka(ctx.config.kafka, ctx.log, 'test-processor', {
    onPartitionMissing: () => recheck(),
  })
  const consumer = own.consumer({ groupId: ctx.config.processor.groupId, maxWaitTimeInMs: 50 })
  await consumer.connect()
  const admin = own.admin()
  await admin.connect()
  const processor = createProcessor({
    admin,
    consumer,
    sql,
    decoder: createDecoder<StockMovement>(registry, 'StockMovement', {
      unknownSchemaGraceMs: ctx.config.registry.unknownSchemaGraceMs,
      reader: opts.reader,
    }),
    relay:
      opts.relay ??
      createOutboxRelay({ sql, producer, registry, registryConfig: ctx.config.registry, log: ctx.log }),
    log: ctx.log,
    clock: Date.now,
    config: ctx.config,
    onFatal:
      opts.onFatal ??
      ((err) => {
        throw err
      }),
  })
  recheck = () => processor.recheck()
  await processor.start()
  return {
    ...processor,
    async stop() {
      await processor.stop()
      await admin.disconnect()
    },
  }
}

let seq = 0
/** A movement with a fresh, valid transaction id. */
export function movement(
  type: EventType,
  store: number,
  item: number,
  quantity: number,
  correction: { to?: number; reverses?: string } = {},
): StockMovement {
  seq++
  const hex = `${Date.now().toString(16)}${seq.toString(16).padStart(6, '0')}`.slice(-12).padStart(12, '0')
  const rand = Math.floor(Math.random() * 0xffff)
    .toString(16)
    .padStart(4, '0')
  return {
    transaction_id: `${rand}${rand}-${rand}-4000-8000-${hex}`,
    event_type: type,
    occurred_at: Date.parse('2024-01-01T00:00:00Z') + seq,
    store_number: store,
    item_number: item,
    quantity,
    ...(correction.to === undefined ? {} : { to_store_number: correction.to }),
    ...(correction.reverses === undefined ? {} : { reverses: correction.reverses }),
  }
}

/** The reversal of `m`, as a person or `stockflow revert` would write it: the original's store, item and quantity. */
export function reversalOf(m: StockMovement): StockMovement {
  return movement('reversal', m.store_number, m.item_number, m.quantity, { reverses: m.transaction_id })
}

export async function produceMovements(
  producer: RenewableProducer,
  topic: string,
  encoder: Encoder<StockMovement>,
  movements: StockMovement[],
): Promise<void> {
  await producer.send({
    topic,
    acks: -1,
    messages: movements.map((m) => ({
      key: movementKey(m.store_number, m.item_number),
      value: encoder.encode(m),
    })),
  })
}
