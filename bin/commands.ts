// The stockflow command: services, operator tools and the local stack, one entry point. `stockflow.js`
// beside it picks a Node that runs TypeScript and hands over to this file.
import { readFileSync } from 'node:fs'
import { loadConfig, type ServiceName } from '../lib/config.ts'
import { UsageError } from '../lib/errors.ts'
import { enforceMemoryBounds } from '../lib/runtime.ts'
import { preflight, resolveEnv, URL_KEYS, type UrlKey } from '../ops/environment.ts'
import { readCommandLine, USAGE_EXIT, unknownCommandMessage } from './command-line.ts'

type Run = (argv: string[], env: NodeJS.ProcessEnv) => Promise<number | undefined>

/** A command's code: `check` reads its arguments alone, so a mistake is reported before any service is asked. */
interface Loaded {
  run: Run
  check?: (argv: string[]) => void
}

const ALL: readonly UrlKey[] = URL_KEYS
const KAFKA_ONLY: readonly UrlKey[] = ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL']
const DB_ONLY: readonly UrlKey[] = ['DATABASE_URL']
const KAFKA_AND_DB: readonly UrlKey[] = ['KAFKA_BROKERS', 'DATABASE_URL']

const serviceUsage = (name: string, what: string, port: string) => `usage: stockflow ${name}

${what}, in the foreground until SIGINT or SIGTERM. It takes no arguments: its settings come from the
environment, then .env here, then the local stack running here (see sample.env). ${
  name === 'web' ? `/healthz on ${port}` : `/healthz, /readyz and /metrics on ${port}`
}. npm start runs it with the other services.`

/**
 * A long-running service: its main resolves once started, and signals end it. Before anything starts,
 * the process takes on the service's configured memory bounds.
 */
const service = (
  name: ServiceName,
  load: () => Promise<{ main: (env: NodeJS.ProcessEnv) => Promise<void> }>,
): Loaded => ({
  check: (argv) => {
    if (argv.length > 0) throw new UsageError('USAGE', `takes no arguments, got '${argv.join(' ')}'`)
  },
  run: async (_argv, env) => {
    enforceMemoryBounds(loadConfig(env).memory[name])
    await (await load()).main(env)
    return undefined
  },
})

/**
 * `needs`: the services a tool talks to, checked before it runs, so that it fails at once with the
 * variable's name. `start` and `stack` check only what is configured, since they start the rest (and
 * `stack` ignores a running stack, being one). The services check nothing up front: they wait for
 * their dependencies, as they must when a broker or database restarts under them. `usage`: the help of
 * a command whose module has none of its own.
 */
const COMMANDS: Record<
  string,
  { about: string; needs: readonly UrlKey[]; usage?: string; load: () => Promise<Loaded> }
> = {
  importer: {
    about: 'watch INPUT_DIR and import CSV files',
    needs: [],
    usage: serviceUsage(
      'importer',
      'Watches INPUT_DIR and imports every CSV file dropped there',
      'IMPORTER_PORT',
    ),
    load: async () => service('importer', () => import('../importer/main.ts')),
  },
  processor: {
    about: 'apply events to Postgres exactly once',
    needs: [],
    usage: serviceUsage(
      'processor',
      'Applies the events topic to the Postgres ledger exactly once',
      'PROCESSOR_PORT',
    ),
    load: async () => service('processor', () => import('../processor/main.ts')),
  },
  alerter: {
    about: 'turn errors and low-stock events into alerts',
    needs: [],
    usage: serviceUsage('alerter', 'Turns the errors and low-stock topics into alerts', 'ALERTER_PORT'),
    load: async () => service('alerter', () => import('../alerter/main.ts')),
  },
  web: {
    about: 'serve the web console on WEB_PORT',
    needs: [],
    usage: serviceUsage('web', 'Serves the web console on WEB_HOST:WEB_PORT', 'WEB_PORT'),
    load: async () => service('web', () => import('../web/main.ts')),
  },
  import: {
    about: 'import FILE… once, writing a receipt beside each',
    needs: ALL,
    load: async () => {
      const m = await import('../importer/import-cli.ts')
      return { run: m.runImportCli, check: m.parseImportArgs }
    },
  },
  tail: {
    about: 'print a topic as JSON lines',
    needs: KAFKA_ONLY,
    load: async () => {
      const m = await import('../ops/tail.ts')
      return { run: m.runTail, check: m.parseTailArgs }
    },
  },
  redrive: {
    about: 're-send failed movements to events',
    needs: ALL,
    load: async () => {
      const m = await import('../ops/redrive.ts')
      return { run: m.runRedrive, check: m.parseRedriveArgs }
    },
  },
  revert: {
    about: 'undo an imported file with a reversal for each of its movements',
    needs: ALL,
    load: async () => {
      const m = await import('../ops/revert.ts')
      return { run: m.runRevert, check: m.parseRevertArgs }
    },
  },
  stats: {
    about: 'stock, parked, errors, lag and throughput',
    needs: KAFKA_AND_DB,
    load: async () => {
      const m = await import('../ops/stats.ts')
      return { run: m.runStats, check: m.parseStatsArgs }
    },
  },
  offsets: {
    about: 'ledger offsets against the log; --accept-reset for a recreated topic',
    needs: KAFKA_AND_DB,
    load: async () => {
      const m = await import('../ops/offsets.ts')
      return { run: m.runOffsets, check: m.parseOffsetsArgs }
    },
  },
  migrate: {
    about: 'apply database migrations (needs DATABASE_URL only)',
    needs: DB_ONLY,
    load: async () => {
      const m = await import('../ops/migrate.ts')
      return { run: m.runMigrate, check: m.parseMigrateArgs }
    },
  },
  start: {
    about: 'run the whole system on this machine (npm start)',
    needs: [],
    load: async () => {
      const m = await import('../ops/start.ts')
      return { run: m.runStart, check: m.parseStartArgs }
    },
  },
  psql: {
    about: "open psql on the ledger (--app: as the services' role)",
    needs: DB_ONLY,
    load: async () => ({ run: (await import('../ops/psql.ts')).runPsql }),
  },
  stack: {
    about: 'run Kafka, the registry and Postgres only (npm run stack)',
    needs: [],
    load: async () => {
      const m = await import('../infra/stack-cli.ts')
      return { run: m.runStackCli, check: m.parseStackArgs }
    },
  },
}

const NAMES = Object.keys(COMMANDS)

function usage(): string {
  const width = Math.max(...NAMES.map((c) => c.length))
  return `usage: stockflow <command> [options]
       stockflow <command> --help     what a command does and its options
       stockflow --version

${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(width)}  ${c.about}`)
  .join('\n')}

Settings come from the environment, then .env in this folder, then the local stack running here
(npm start or npm run stack); see sample.env.

Exit codes: 0 done; 1 failed (a service unreachable, a file that failed, …); ${USAGE_EXIT} usage error (a
command, option or argument stockflow does not take). import also exits 2 when some rows were rejected.`
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
  return `stockflow ${pkg.version} (Node ${process.version})`
}

/** parseArgs's own errors (an unknown option, a missing value) are usage errors like ours. */
function isUsageError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code
  return code === 'USAGE' || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_'))
}

const line = readCommandLine(process.argv.slice(2), NAMES, ['psql'])
if (line.kind === 'help') {
  console.log(usage())
  process.exit(0)
}
if (line.kind === 'version') {
  console.log(version())
  process.exit(0)
}
if (line.kind === 'unknown') {
  console.error(unknownCommandMessage(line.given, line.suggestion))
  process.exit(USAGE_EXIT)
}
const { name, args, help } = line
const command = COMMANDS[name]!
try {
  if (help && command.usage !== undefined) {
    console.log(command.usage)
    process.exit(0)
  }
  const loaded = await command.load()
  // Help, and a mistake in the arguments, need no service: they are answered before any is looked for.
  if (!help) loaded.check?.(args)
  const resolved = resolveEnv(process.env, process.cwd(), { useRunningStack: name !== 'stack' })
  const starts = name === 'start' || name === 'stack'
  const checked = starts ? ALL.filter((k) => resolved.sources[k]) : command.needs
  if (!help) await preflight(resolved, checked)
  // Services resolve undefined and keep running until a signal; tools resolve their exit code.
  const code = await loaded.run(args, resolved.env)
  if (typeof code === 'number') process.exit(code)
} catch (err) {
  const e = err as Error
  if (isUsageError(err)) {
    console.error(`stockflow ${name}: ${e.message}`)
    if (!e.message.startsWith('usage:')) console.error(`stockflow ${name} --help shows how to use it.`)
    process.exit(USAGE_EXIT)
  }
  console.error(`stockflow ${name}: ${e.message}`)
  process.exit(1)
}
