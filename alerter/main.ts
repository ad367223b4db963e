// Composition root of the alerter: reads the environment, builds clients, handles signals.
import { loadConfig } from '../lib/config.ts'
import { assertMigrated, createSql } from '../lib/db.ts'
import { createKafka, ensureTopics, pipelineTopics } from '../lib/kafka.ts'
import { createLogger } from '../lib/log.ts'
import { createMetrics, serveHealth } from '../lib/metrics.ts'
import { createDecoder, createRegistry, pingRegistry } from '../lib/registry.ts'
import { whenReady } from '../lib/retry.ts'
import type { LowStock, StockError } from '../schemas/contract.ts'
import { createAlerter } from './alerter.ts'
import { createWebhookSink } from './webhook.ts'

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadConfig(env)
  const log = createLogger({ name: 'alerter', level: config.log.level, pretty: process.stdout.isTTY })
  const sql = createSql({
    url: config.db.url,
    schema: config.db.schema,
    max: Math.min(3, config.db.poolMax),
    name: 'stockflow-alerter',
  })
  // Postgres or the broker may be restarting while we start: wait for them rather than exit.
  const ready = <T>(what: string, fn: () => Promise<T>) => whenReady(what, fn, log)
  await ready('Postgres', () => assertMigrated(sql))
  const kafka = createKafka(config.kafka, log, `${config.kafka.clientId}-alerter`)
  const admin = kafka.admin()
  await ready('Kafka', async () => {
    await admin.connect()
    await ensureTopics(admin, pipelineTopics(config.topics))
  })
  const registry = createRegistry(config.registry)
  const consumer = kafka.consumer({ groupId: config.alerter.groupId, maxWaitTimeInMs: 200 })
  await ready('Kafka consumer', () => consumer.connect())
  const metrics = createMetrics('alerter')
  const alerts = metrics.counter('stockflow_alerts_total', 'Alerts by outcome', ['outcome'])
  const grace = { unknownSchemaGraceMs: config.registry.unknownSchemaGraceMs }
  const alerter = createAlerter({
    consumer,
    sql,
    errors: createDecoder<StockError>(registry, 'StockError', grace),
    lowStock: createDecoder<LowStock>(registry, 'LowStock', grace),
    sink: config.alerter.webhookUrl
      ? createWebhookSink(config.alerter.webhookUrl, config.alerter.webhookTimeoutMs)
      : undefined,
    log,
    clock: Date.now,
    config,
    onFatal: (err) => {
      log.fatal({ err }, 'consumer crashed and will not restart; exiting so the supervisor restarts us')
      process.exit(1)
    },
    onAlert: (outcome) => alerts.inc({ outcome }),
  })
  const health = await serveHealth({
    host: config.healthHost,
    port: config.alerter.port,
    metrics,
    checks: {
      postgres: async () => {
        await sql`select 1`
      },
      kafka: async () => {
        await admin.describeCluster()
      },
      registry: () => pingRegistry(config.registry),
      partitions: async () => {
        if (alerter.assigned() === 0) throw new Error('no partitions assigned')
      },
    },
  })
  await alerter.start()
  log.info({ port: health.port, webhook: Boolean(config.alerter.webhookUrl) }, 'alerter ready')

  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'draining')
    await alerter.stop()
    await Promise.allSettled([admin.disconnect(), sql.end({ timeout: 5 }), health.close()])
    process.exit(0)
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
  process.once('SIGINT', () => void shutdown('SIGINT'))
}
