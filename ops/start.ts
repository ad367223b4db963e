// `stockflow start` (`npm start`): the whole system on one machine, with one command.

import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { kafkaVersion } from '../infra/kafka-server.ts'
import { type Stack, stackPorts, startStack } from '../infra/stack.ts'
import { loadConfig, urlHost } from '../lib/config.ts'
import { createSql, migrate } from '../lib/db.ts'
import { supervise } from './supervisor.ts'

const BIN = fileURLToPath(new URL('../bin/commands.ts', import.meta.url))

export async function runStart(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { 'stack-dir': { type: 'string', default: '.stack/dev' } },
  })
  const say = (msg: string) => console.error(`[stockflow] ${msg}`)
  // Listen before starting anything, so Ctrl-C during start-up still stops what was started.
  let requestStop: () => void = () => {}
  const stopSignal = new Promise<void>((resolve) => {
    requestStop = resolve
  })
  process.once('SIGINT', () => requestStop())
  process.once('SIGTERM', () => requestStop())
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {})
  let stack: Stack | undefined
  const configured = env.KAFKA_BROKERS && env.SCHEMA_REGISTRY_URL && env.DATABASE_URL
  if (!configured) {
    say('starting the local stack (Kafka, schema registry, Postgres); the first run downloads them')
    stack = await startStack({
      dir: values['stack-dir'],
      ports: stackPorts(env),
      kafkaVersion: kafkaVersion(env),
      existing: {
        KAFKA_BROKERS: env.KAFKA_BROKERS,
        SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL,
        DATABASE_URL: env.DATABASE_URL,
      },
      log: say,
    })
  }
  const ownerEnv: NodeJS.ProcessEnv = { ...env, ...stack?.env, INPUT_DIR: env.INPUT_DIR ?? './input' }
  const config = loadConfig(ownerEnv)
  const sql = createSql({ url: config.db.url, max: 1, name: 'stockflow-start' })
  await migrate(sql, { schema: config.db.schema })
  await sql.end({ timeout: 5 })
  // Migrations ran as the owner; the services get the least-privilege role when the stack is ours.
  // So do they when this folder's stack was started by `npm run stack` (its lock carries the app URL).
  const appUrl = stack?.postgres?.appUrl ?? env.DATABASE_APP_URL
  const childEnv = appUrl ? { ...ownerEnv, DATABASE_URL: appUrl } : ownerEnv
  // The console reads as its own read-only role; without that role's URL it takes the role on the owner's
  // connection (web/main.ts), so it keeps the owner's URL.
  const webUrl = stack?.postgres?.webUrl ?? env.DATABASE_WEB_URL
  const webEnv = webUrl ? { ...ownerEnv, DATABASE_WEB_URL: webUrl } : ownerEnv

  const sup = supervise(
    [
      ...['importer', 'processor', 'alerter'].map((name) => ({ name, args: [BIN, name], env: childEnv })),
      { name: 'web', args: [BIN, 'web'], env: webEnv },
    ],
    say,
  )
  const input = resolve(config.importer.inputDir)
  // Every line below works when pasted into another terminal in this folder: the commands find the
  // running stack (or .env, or the environment) by themselves.
  console.error(
    [
      '',
      'stockflow is running.',
      `  Web console:           http://${urlHost(config.web.host)}:${config.web.port}/`,
      `  Drop CSV files into:   ${input}`,
      `  Receipts appear in:    ${input}/processed/ (or failed/)`,
      `  Watch events:          npx stockflow tail ${config.topics.events} --from-beginning --follow`,
      `  Watch errors:          npx stockflow tail ${config.topics.errors} --follow`,
      '  Stock, lag, errors:    npx stockflow stats',
      `  SQL:                   npx stockflow psql -c 'select * from current_stock'`,
      `  Health:                http://127.0.0.1:${config.processor.port}/readyz  (importer ${config.importer.port}, alerter ${config.alerter.port})`,
      '  Ctrl-C stops everything.',
      '',
    ].join('\n'),
  )
  await stopSignal
  say('stopping services…')
  await sup.stop()
  if (stack) {
    say('stopping the local stack…')
    await stack.stop()
  }
  say('stopped')
  return 0
}
