// Composition root of the web console: reads the environment, builds clients, handles signals.
// Kafka is needed only for lag and re-drives: the console starts without it and shows stock meanwhile.
import { connectEventsProducer, type EventsProducer } from '../ledger/events-producer.ts'
import { consumerLag } from '../ledger/lag.ts'
import { readToOffsets } from '../ledger/offsets.ts'
import { createRedriveSender, type RedriveSend } from '../ledger/redrive.ts'
import { createRevertSender, type RevertSend } from '../ledger/revert.ts'
import { loadConfig } from '../lib/config.ts'
import { assertMigrated, createSql } from '../lib/db.ts'
import { createKafka } from '../lib/kafka.ts'
import { createLogger } from '../lib/log.ts'
import { probeServices } from './pipeline-pages.ts'
import { createWebServer } from './server.ts'
import { readTlsFiles } from './tls.ts'

/** The Pipeline page waits this long for lag, then shows the rest without it. */
const LAG_TIMEOUT_MS = 3000

function withTimeout<T>(ms: number, message: string, run: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms)
  })
  return Promise.race([run(), late]).finally(() => clearTimeout(timer))
}

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadConfig(env)
  // Before any connection: a certificate that cannot be read is a configuration error, reported at once.
  const tls = await readTlsFiles(config.web.tls)
  const log = createLogger({ name: 'web', level: config.log.level, pretty: process.stdout.isTTY })
  // The read-only role: its own URL, or the owner's connection taking on the role for the session.
  const sql = createSql({
    url: config.web.databaseUrl ?? config.db.url,
    schema: config.db.schema,
    max: 4,
    name: 'stockflow-web',
    // A role taken with SET ROLE does not bring the role's own settings (those apply at login): given here.
    settings: config.web.databaseUrl
      ? {}
      : { role: 'stockflow_web', statement_timeout: '10s', idle_in_transaction_session_timeout: '30s' },
  })
  await assertMigrated(sql)

  const kafka = createKafka(config.kafka, log, `${config.kafka.clientId}-web`)
  const admin = kafka.admin()
  // Connected on first use and again after a failure, so a broker down at start-up costs only the lag figures.
  let adminReady: Promise<void> | undefined
  const connectedAdmin = () => {
    adminReady ??= admin.connect().catch((err) => {
      adminReady = undefined
      throw err
    })
    return adminReady
  }
  let events: Promise<EventsProducer> | undefined
  // Built on the first re-drive or revert, and kept: the registry and a producer are needed for nothing else.
  const eventsProducer = () => {
    events ??= connectEventsProducer(kafka, config)
    events.catch(() => {
      events = undefined
    })
    return events
  }
  const redriveSend: RedriveSend = async (auditId, rows) =>
    createRedriveSender(await eventsProducer())(auditId, rows)
  const revertSend: RevertSend = async (file, reversals) =>
    createRevertSender(await eventsProducer())(file, reversals)

  const app = await createWebServer({
    sql,
    log,
    clock: Date.now,
    config,
    redriveSend,
    revertSend,
    tls,
    pipeline: {
      lag: () =>
        withTimeout(LAG_TIMEOUT_MS, 'Kafka did not answer in time', async () => {
          await connectedAdmin()
          const ledger = await readToOffsets(sql, config.processor.groupId, config.topics.events)
          return consumerLag(admin, config, ledger)
        }),
      readiness: () =>
        probeServices(Object.entries(config.web.readinessUrls).map(([service, url]) => ({ service, url }))),
    },
  })
  const address = await app.listen({ host: config.web.host, port: config.web.port })
  log.info(
    { url: address, login: config.web.password !== undefined, trustProxy: config.web.trustProxy },
    'web console ready',
  )

  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'draining: finishing requests in progress')
    await app.close()
    await Promise.allSettled([
      events?.then((e) => e.producer.disconnect()),
      admin.disconnect(),
      sql.end({ timeout: 5 }),
    ])
    log.info('web console stopped')
    process.exit(0)
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
  process.once('SIGINT', () => void shutdown('SIGINT'))
}
