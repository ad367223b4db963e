// Composition root of the processor: reads the environment, builds clients, handles signals.
import { loadConfig } from '../lib/config.ts'
import { assertMigrated, createSql } from '../lib/db.ts'
import { createIdempotentProducer, createKafka, ensureTopics, pipelineTopics } from '../lib/kafka.ts'
import { createLogger } from '../lib/log.ts'
import { createMetrics, serveHealth } from '../lib/metrics.ts'
import { createDecoder, createRegistry, pingRegistry } from '../lib/registry.ts'
import { whenReady } from '../lib/retry.ts'
import type { StockMovement } from '../schemas/contract.ts'
import { createOutboxRelay } from './outbox-relay.ts'
import { createProcessor } from './processor.ts'
import { createProcessorMetrics } from './processor-metrics.ts'

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadConfig(env)
  const log = createLogger({ name: 'processor', level: config.log.level, pretty: process.stdout.isTTY })
  const sql = createSql({
    url: config.db.url,
    schema: config.db.schema,
    max: config.db.poolMax,
    name: 'stockflow-processor',
  })
  // Postgres or the broker may be restarting while we start: wait for them rather than exit.
  const ready = <T>(what: string, fn: () => Promise<T>) => whenReady(what, fn, log)
  await ready('Postgres', () => assertMigrated(sql))
  // Late-bound: the processor is built after the client whose errors it must hear about.
  let recheck = () => {}
  const kafka = createKafka(config.kafka, log, `${config.kafka.clientId}-processor`, {
    onPartitionMissing: () => recheck(),
  })
  const admin = kafka.admin()
  await ready('Kafka', async () => {
    await admin.connect()
    await ensureTopics(admin, pipelineTopics(config.topics))
  })
  const registry = createRegistry(config.registry)
  const producer = createIdempotentProducer(kafka)
  await ready('Kafka producer', () => producer.connect())
  const consumer = kafka.consumer({
    groupId: config.processor.groupId,
    maxWaitTimeInMs: 50,
    maxBytes: config.processor.fetchMaxBytes,
    maxBytesPerPartition: config.processor.fetchPartitionMaxBytes,
  })
  await ready('Kafka consumer', () => consumer.connect())
  const metrics = createMetrics('processor')
  const relay = createOutboxRelay({ sql, producer, registry, registryConfig: config.registry, log })
  const processor = createProcessor({
    consumer,
    sql,
    decoder: createDecoder<StockMovement>(registry, 'StockMovement', {
      unknownSchemaGraceMs: config.registry.unknownSchemaGraceMs,
    }),
    relay,
    log,
    clock: Date.now,
    config,
    metrics: createProcessorMetrics(metrics),
    admin,
    onFatal: (err) => {
      log.fatal({ err }, 'consumer crashed and will not restart; exiting so the supervisor restarts us')
      process.exit(1)
    },
  })
  const backlog = metrics.gauge('stockflow_outbox_backlog', 'Outbox rows not yet published')
  const health = await serveHealth({
    host: config.healthHost,
    port: config.processor.port,
    metrics,
    checks: {
      postgres: async () => {
        backlog.set(await relay.backlog())
      },
      kafka: async () => {
        await admin.describeCluster()
      },
      registry: () => pingRegistry(config.registry),
      outbox: async () => {
        const stalled = processor.relayStalled(config.processor.relayStallMs)
        if (stalled)
          throw new Error(
            `the outbox relay has failed for ${Math.round(stalled.sinceMs / 1000)} s: ${stalled.error}; errors and low-stock events are not published meanwhile`,
          )
      },
      partitions: async () => {
        if (processor.assigned() === 0) throw new Error('no partitions assigned')
        const halted = processor.halted()
        if (halted.length > 0) {
          const list = halted.map((h) => `${h.partition} (ledger at ${h.stored}, log ends at ${h.logEnd})`)
          throw new Error(
            `partitions halted, topic behind the ledger: ${list.join(', ')}; see stockflow offsets`,
          )
        }
      },
    },
  })
  recheck = () => processor.recheck()
  await processor.start()
  log.info({ port: health.port, group: config.processor.groupId }, 'processor ready')

  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'draining: finishing the current batch, then leaving the group')
    await processor.stop()
    await Promise.allSettled([
      producer.disconnect(),
      admin.disconnect(),
      sql.end({ timeout: 5 }),
      health.close(),
    ])
    log.info('processor stopped')
    process.exit(0)
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
  process.once('SIGINT', () => void shutdown('SIGINT'))
}
