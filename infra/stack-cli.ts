// `npm run stack` / `stockflow stack`: runs the infrastructure only, until SIGINT or SIGTERM.
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { DEV_PORTS, formatEnv, startStack } from './stack.ts'

const USAGE = `usage: stockflow stack [--dir DIR] [--env-file PATH] [--fresh]

Starts Kafka ${'3.9.1'} (KRaft), Apicurio Registry and a private PostgreSQL on 127.0.0.1.
A part is skipped when KAFKA_BROKERS, SCHEMA_REGISTRY_URL or DATABASE_URL is already set.
Ports: STACK_KAFKA_PORT (${DEV_PORTS.kafka}), STACK_KAFKA_CONTROLLER_PORT (${DEV_PORTS.kafkaController}),
       STACK_REGISTRY_PORT (${DEV_PORTS.registry}), STACK_POSTGRES_PORT (${DEV_PORTS.postgres}).
Downloads are cached in STOCKFLOW_CACHE_DIR (default ~/.cache/stockflow).`

function port(env: NodeJS.ProcessEnv, key: string, fallback: number): number {
  const raw = env[key]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new Error(`${key} must be a port number, got '${raw}'`)
  return n
}

export async function runStackCli(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      dir: { type: 'string', default: '.stack/dev' },
      'env-file': { type: 'string' },
      fresh: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    console.log(USAGE)
    return 0
  }
  // Listen before starting: a Ctrl-C during start-up still stops whatever was started.
  let stopRequested = false
  let requestStop: () => void = () => {}
  const stopSignal = new Promise<void>((resolve) => {
    requestStop = resolve
  })
  const onSignal = () => {
    stopRequested = true
    requestStop()
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  // A closed terminal or pipe must not kill us before the children are stopped.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {})

  const stack = await startStack({
    dir: values.dir,
    fresh: values.fresh,
    cacheDir: env.STOCKFLOW_CACHE_DIR,
    ports: {
      kafka: port(env, 'STACK_KAFKA_PORT', DEV_PORTS.kafka),
      kafkaController: port(env, 'STACK_KAFKA_CONTROLLER_PORT', DEV_PORTS.kafkaController),
      registry: port(env, 'STACK_REGISTRY_PORT', DEV_PORTS.registry),
      postgres: port(env, 'STACK_POSTGRES_PORT', DEV_PORTS.postgres),
    },
    existing: {
      KAFKA_BROKERS: env.KAFKA_BROKERS || undefined,
      SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL || undefined,
      DATABASE_URL: env.DATABASE_URL || undefined,
    },
    log: (msg) => console.error(`[stack] ${msg}`),
  })
  if (!stopRequested) {
    const lines = formatEnv(stack.env)
    if (values['env-file']) writeFileSync(values['env-file'], `${lines}\n`)
    console.log(lines)
    console.error(`[stack] up; logs in ${stack.dir}. Ctrl-C stops everything.`)
  }
  await stopSignal
  console.error('[stack] stopping…')
  await stack.stop()
  console.error('[stack] stopped')
  return 0
}

if (import.meta.main) {
  runStackCli(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`[stack] ${err instanceof Error ? err.message : String(err)}`)
      process.exit(1)
    },
  )
}
