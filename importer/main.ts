// Composition root of the importer: reads the environment, builds clients, handles signals.
import { loadConfig } from '../lib/config.ts'
import { assertMigrated, createSql } from '../lib/db.ts'
import { createIdempotentProducer, createKafka, ensureTopics, pipelineTopics } from '../lib/kafka.ts'
import { createLogger } from '../lib/log.ts'
import { createMetrics, serveHealth } from '../lib/metrics.ts'
import { createRegistry, pingRegistry } from '../lib/registry.ts'
import { whenReady } from '../lib/retry.ts'
import { createImportEncoders } from './encoders.ts'
import { createImporter } from './importer.ts'
import { createImporterMetrics } from './importer-metrics.ts'

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadConfig(env)
  const log = createLogger({ name: 'importer', level: config.log.level, pretty: process.stdout.isTTY })
  // Postgres, the broker or the registry may be restarting while we start: wait for them rather than exit.
  const ready = <T>(what: string, fn: () => Promise<T>) => whenReady(what, fn, log)
  const kafka = createKafka(config.kafka, log, `${config.kafka.clientId}-importer`)
  const admin = kafka.admin()
  await ready('Kafka', async () => {
    await admin.connect()
    await ensureTopics(admin, pipelineTopics(config.topics))
  })
  const registry = createRegistry(config.registry)
  const { movements, errors } = await ready('the schema registry', () =>
    createImportEncoders(registry, config),
  )
  const producer = createIdempotentProducer(kafka)
  await ready('Kafka producer', () => producer.connect())
  const sql = createSql({
    url: config.db.url,
    schema: config.db.schema,
    max: Math.min(2, config.db.poolMax),
    name: 'stockflow-importer',
  })
  await ready('Postgres', () => assertMigrated(sql))
  const metrics = createMetrics('importer')
  const importer = createImporter({
    producer,
    movements,
    errors,
    sql,
    log,
    clock: Date.now,
    config,
    metrics: createImporterMetrics(metrics),
  })
  const health = await serveHealth({
    host: config.healthHost,
    port: config.importer.port,
    metrics,
    checks: {
      kafka: async () => {
        await admin.describeCluster()
      },
      registry: () => pingRegistry(config.registry),
      postgres: async () => {
        await sql`select 1`
      },
    },
  })
  await importer.start()
  log.info({ port: health.port }, 'importer ready')

  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'draining: finishing the file in progress')
    await importer.stop()
    await Promise.allSettled([
      producer.disconnect(),
      admin.disconnect(),
      sql.end({ timeout: 5 }),
      health.close(),
    ])
    log.info('importer stopped')
    process.exit(0)
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
  process.once('SIGINT', () => void shutdown('SIGINT'))
}
