// `npm run stack` / `stockflow stack`: runs the infrastructure only, until SIGINT or SIGTERM.
import { chmodSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { DEFAULT_KAFKA_VERSION, kafkaVersion } from './kafka-server.ts'
import { DEV_PORTS, defaultCacheDir, formatEnv, stackPorts, startStack } from './stack.ts'

// Not --env-file: Node takes that flag for itself even after the script's name.
const USAGE = `usage: stockflow stack [--dir DIR] [--write-env PATH] [--fresh]

Starts Kafka (KRaft; STACK_KAFKA_VERSION, default ${DEFAULT_KAFKA_VERSION}, or a 4.0/4.1 release), Apicurio Registry and a private PostgreSQL on 127.0.0.1, and stays in the
foreground until Ctrl-C or SIGTERM, then stops them. --write-env writes the three URLs to PATH (mode 0600).
Other stockflow commands run in the same folder find this stack by themselves.
A part is skipped when KAFKA_BROKERS, SCHEMA_REGISTRY_URL or DATABASE_URL is already set.
Ports: STACK_KAFKA_PORT (${DEV_PORTS.kafka}), STACK_KAFKA_CONTROLLER_PORT (${DEV_PORTS.kafkaController}),
       STACK_REGISTRY_PORT (${DEV_PORTS.registry}), STACK_POSTGRES_PORT (${DEV_PORTS.postgres}).
Downloads (and the Maven repository that fetches them) are kept in STOCKFLOW_CACHE_DIR (default\n~/.cache/stockflow; in .env too, where ~/ is expanded).`

export function parseStackArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      dir: { type: 'string', default: '.stack/dev' },
      'write-env': { type: 'string' },
      fresh: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values
}

export async function runStackCli(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const values = parseStackArgs(argv)
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
  // The stack's processes are detached, and a pending promise keeps nothing alive: without a timer of
  // its own, this process would return to the shell right after "up" and leave the stack unattended.
  const keepAlive = setInterval(() => {}, 1 << 30)
  // A closed terminal or pipe must not kill us before the children are stopped.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {})

  const stack = await startStack({
    dir: values.dir,
    fresh: values.fresh,
    cacheDir: defaultCacheDir(env),
    ports: stackPorts(env),
    kafkaVersion: kafkaVersion(env),
    existing: {
      KAFKA_BROKERS: env.KAFKA_BROKERS || undefined,
      SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL || undefined,
      DATABASE_URL: env.DATABASE_URL || undefined,
    },
    log: (msg) => console.error(`[stack] ${msg}`),
  })
  if (!stopRequested) {
    const lines = formatEnv(stack.env)
    const out = values['write-env']
    if (out) {
      writeFileSync(out, `${lines}\n`, { mode: 0o600 })
      chmodSync(out, 0o600)
    }
    console.log(lines)
    console.error(`[stack] up; logs in ${stack.dir}. Ctrl-C stops everything.`)
  }
  await stopSignal
  console.error('[stack] stopping…')
  await stack.stop()
  console.error('[stack] stopped')
  clearInterval(keepAlive)
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
