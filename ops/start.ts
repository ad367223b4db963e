// `stockflow start` (`npm start`): the whole system on one machine, with one command.

import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { kafkaVersion } from '../infra/kafka-server.ts'
import { defaultCacheDir, type Stack, stackPorts, startStack } from '../infra/stack.ts'
import { loadConfig, urlHost } from '../lib/config.ts'
import { createSql, migrate } from '../lib/db.ts'
import { watchParent } from './parent-watch.ts'
import { portProblems, type ServicePort } from './port-check.ts'
import { acquireStartLock } from './start-lock.ts'
import { supervise } from './supervisor.ts'

const BIN = fileURLToPath(new URL('../bin/commands.ts', import.meta.url))

const USAGE = `usage: stockflow start [--stack-dir DIR]

Runs the whole system in the foreground, as npm start does: Kafka, the schema registry and Postgres
(each unless its URL, KAFKA_BROKERS, SCHEMA_REGISTRY_URL or DATABASE_URL, is set), the migrations, then
the importer, the processor, the alerter and the web console, restarted if they die. It creates INPUT_DIR
(./input) first, then prints where to drop files and the commands to run from another terminal.

One per folder: a second one refuses, naming the first one's pid (.stack/start.lock.json). A port that
another program holds (IMPORTER_PORT, PROCESSOR_PORT, ALERTER_PORT, WEB_PORT) is named, and nothing runs.
Ctrl-C, SIGTERM or SIGHUP stop everything, the stack included; so does the end of the process that started
it (npm, a shell): stockflow start never outlives its parent.

--stack-dir DIR   where the local stack keeps its data and lock (default .stack/dev).
Downloads go to STOCKFLOW_CACHE_DIR (default ~/.cache/stockflow), read from .env too.`

/** The options, or undefined when help was asked for. */
export function parseStartArgs(argv: string[]): { stackDir: string } | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      'stack-dir': { type: 'string', default: '.stack/dev' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  return values.help ? undefined : { stackDir: values['stack-dir'] }
}

export async function runStart(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const args = parseStartArgs(argv)
  if (!args) {
    console.log(USAGE)
    return 0
  }
  const say = (msg: string) => console.error(`[stockflow] ${msg}`)
  // The state folder holds the one-per-folder lock, taken before anything else is looked at or started.
  const state = resolve('.stack')
  mkdirSync(state, { recursive: true })
  const lock = acquireStartLock(join(state, 'start.lock.json'))
  try {
    return await runLocked(args.stackDir, env, say)
  } finally {
    lock.release()
  }
}

async function runLocked(
  stackDir: string,
  env: NodeJS.ProcessEnv,
  say: (msg: string) => void,
): Promise<number> {
  const configured = env.KAFKA_BROKERS && env.SCHEMA_REGISTRY_URL && env.DATABASE_URL
  // Read now, so that a cache folder that cannot be used is said before anything is made or started.
  const cacheDir = configured ? undefined : defaultCacheDir(env)
  // The input folder exists from the first second, so `cp file input/` works while the stack starts.
  const inputDir = env.INPUT_DIR ?? './input'
  mkdirSync(inputDir, { recursive: true })

  // Ports are read as the services will read them; the URLs do not matter for that, and are not known
  // yet when the stack is ours, so placeholders stand in for them.
  const portConfig = loadConfig({
    KAFKA_BROKERS: '127.0.0.1:9',
    SCHEMA_REGISTRY_URL: 'http://127.0.0.1:9',
    DATABASE_URL: 'postgres://127.0.0.1:9/x',
    ...env,
  })
  const ports: Record<'importer' | 'processor' | 'alerter' | 'web', ServicePort> = {
    importer: { key: 'IMPORTER_PORT', host: portConfig.healthHost, port: portConfig.importer.port },
    processor: { key: 'PROCESSOR_PORT', host: portConfig.healthHost, port: portConfig.processor.port },
    alerter: { key: 'ALERTER_PORT', host: portConfig.healthHost, port: portConfig.alerter.port },
    web: { key: 'WEB_PORT', host: portConfig.web.host, port: portConfig.web.port },
  }
  const taken = await portProblems(Object.values(ports))
  if (taken.length > 0) {
    say(`cannot start: ${taken.join('; ')}.`)
    return 1
  }

  // Listen before starting anything, so Ctrl-C during start-up still stops what was started. The checks
  // above start nothing.
  let stopRequested = false
  let requestStop: () => void = () => {}
  const stopSignal = new Promise<void>((resolve) => {
    requestStop = () => {
      stopRequested = true
      resolve()
    }
  })
  let failed: string | undefined
  const stopFor = (why: string) => {
    say(`${why}; stopping`)
    requestStop()
  }
  process.once('SIGINT', () => requestStop())
  process.once('SIGTERM', () => requestStop())
  // A closed terminal. Under an old Node's launcher the launcher ignores it, and it reaches us directly.
  process.once('SIGHUP', () => stopFor('the terminal closed (SIGHUP)'))
  const unwatch = watchParent((why) => stopFor(`${why} (it does not outlive its parent)`), {
    npmExecPath: env.npm_execpath,
  })
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {})

  let stack: Stack | undefined
  try {
    if (!configured) {
      say('starting the local stack (Kafka, schema registry, Postgres); the first run downloads them')
      stack = await startStack({
        dir: stackDir,
        cacheDir,
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
    // Asked to stop while the stack was starting (a first run downloads for minutes): start nothing more.
    if (stopRequested) return 0
    const ownerEnv: NodeJS.ProcessEnv = { ...env, ...stack?.env, INPUT_DIR: inputDir }
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

    const services = ['importer', 'processor', 'alerter'] as const
    const sup = supervise(
      [
        ...services.map((name) => ({ name, args: [BIN, name], env: childEnv, port: ports[name] })),
        { name: 'web', args: [BIN, 'web'], env: webEnv, port: ports.web },
      ],
      say,
      20_000,
      {
        onPortTaken: (problem) => {
          if (failed !== undefined) return
          failed = problem
          requestStop()
        },
      },
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
    if (failed !== undefined) say(`cannot go on: ${failed}.`)
    say('stopping services…')
    await sup.stop()
  } finally {
    unwatch()
    if (stack) {
      say('stopping the local stack…')
      await stack.stop()
    }
    say('stopped')
  }
  return failed === undefined ? 0 : 1
}
