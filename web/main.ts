// Composition root of the web console: reads the environment, builds clients, handles signals.
// Kafka is needed only for lag and re-drives: the console starts without it and shows stock meanwhile.
import type { Producer } from 'kafkajs'
import { loadConfig } from '../lib/config.ts'
import { assertMigrated, createSql } from '../lib/db.ts'
import { createIdempotentProducer, createKafka } from '../lib/kafka.ts'
import { createLogger } from '../lib/log.ts'
import { createEncoder, createRegistry } from '../lib/registry.ts'
import { createRedriveSender, type RedriveSend } from '../ops/redrive-movements.ts'
import { consumerLag } from '../ops/stats.ts'
import type { StockMovement } from '../schemas/contract.ts'
import { probeServices } from './pipeline-pages.ts'
import { createWebServer } from './server.ts'

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadConfig(env)
  const log = createLogger({ name: 'web', level: config.log.level, pretty: process.stdout.isTTY })
  // The read-only role: its own URL, or the owner's connection taking on the role for the session.
  const sql = createSql({
    url: config.web.databaseUrl ?? config.db.url,
    schema: config.db.schema,
    max: 4,
    name: 'stockflow-web',
    settings: config.web.databaseUrl ? {} : { role: 'stockflow_web' },
  })
  await assertMigrated(sql)

  const kafka = createKafka(config.kafka, log, `${config.kafka.clientId}-web`)
  const admin = kafka.admin()
  const adminReady = admin.connect()
  adminReady.catch((err) => log.warn({ err }, 'Kafka not reachable yet: lag and re-drive wait for it'))
  let producer: Producer | undefined
  let sender: Promise<RedriveSend> | undefined
  // Built on the first re-drive, and kept: the schema registry and the producer are needed for nothing else.
  const redriveSend: RedriveSend = async (auditId, rows) => {
    sender ??= (async () => {
      const encoder = await createEncoder<StockMovement>(
        createRegistry(config.registry),
        config.registry,
        config.topics.events,
        'StockMovement',
      )
      producer = createIdempotentProducer(kafka, { retries: 5 })
      await producer.connect()
      return createRedriveSender({ producer, encoder, topic: config.topics.events })
    })()
    sender.catch(() => {
      sender = undefined
    })
    return (await sender)(auditId, rows)
  }

  const health = (service: string, port: number) => ({
    service,
    url: `http://${config.healthHost.includes(':') ? `[${config.healthHost}]` : config.healthHost}:${port}/readyz`,
  })
  const app = await createWebServer({
    sql,
    log,
    clock: Date.now,
    config,
    redriveSend,
    pipeline: {
      lag: async () => {
        await adminReady
        const rows = await sql`select partition, next_offset from ledger_offsets
                    where group_id = ${config.processor.groupId} and topic = ${config.topics.events}`
        const ledger = new Map(rows.map((r) => [r.partition as number, r.next_offset as number]))
        return consumerLag(admin, config, ledger)
      },
      readiness: () =>
        probeServices([
          health('importer', config.importer.port),
          health('processor', config.processor.port),
          health('alerter', config.alerter.port),
        ]),
    },
  })
  const address = await app.listen({ host: config.web.host, port: config.web.port })
  log.info({ url: address, login: config.web.password !== undefined }, 'web console ready')

  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'draining: finishing requests in progress')
    await app.close()
    await Promise.allSettled([producer?.disconnect(), admin.disconnect(), sql.end({ timeout: 5 })])
    log.info('web console stopped')
    process.exit(0)
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
  process.once('SIGINT', () => void shutdown('SIGINT'))
}
