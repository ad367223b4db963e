// The stockflow command: services, operator tools and the local stack, one entry point. `stockflow.js`
// beside it picks a Node that runs TypeScript and hands over to this file.
import { loadConfig, type ServiceName } from '../lib/config.ts'
import { enforceMemoryBounds } from '../lib/runtime.ts'
import { preflight, resolveEnv, URL_KEYS, type UrlKey } from '../ops/environment.ts'

type Run = (argv: string[], env: NodeJS.ProcessEnv) => Promise<number | undefined>

const ALL: readonly UrlKey[] = URL_KEYS
const KAFKA_ONLY: readonly UrlKey[] = ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL']
const DB_ONLY: readonly UrlKey[] = ['DATABASE_URL']
const KAFKA_AND_DB: readonly UrlKey[] = ['KAFKA_BROKERS', 'DATABASE_URL']

/**
 * A long-running service: its main resolves once started, and signals end it. Before anything starts,
 * the process takes on the service's configured memory bounds.
 */
const service =
  (name: ServiceName, load: () => Promise<{ main: (env: NodeJS.ProcessEnv) => Promise<void> }>): Run =>
  async (_argv, env) => {
    enforceMemoryBounds(loadConfig(env).memory[name])
    await (await load()).main(env)
    return undefined
  }

/**
 * `needs`: the services a tool talks to, checked before it runs, so that it fails at once with the
 * variable's name. `start` and `stack` check only what is configured, since they start the rest (and
 * `stack` ignores a running stack, being one). The services check nothing up front: they wait for
 * their dependencies, as they must when a broker or database restarts under them.
 */
const COMMANDS: Record<string, { about: string; needs: readonly UrlKey[]; load: () => Promise<Run> }> = {
  importer: {
    about: 'watch INPUT_DIR and import CSV files',
    needs: [],
    load: async () => service('importer', () => import('../importer/main.ts')),
  },
  processor: {
    about: 'apply events to Postgres exactly once',
    needs: [],
    load: async () => service('processor', () => import('../processor/main.ts')),
  },
  alerter: {
    about: 'turn errors and low-stock events into alerts',
    needs: [],
    load: async () => service('alerter', () => import('../alerter/main.ts')),
  },
  web: {
    about: 'serve the web console on WEB_PORT',
    needs: [],
    load: async () => service('web', () => import('../web/main.ts')),
  },
  import: {
    about: 'import FILE… once, writing a receipt beside each',
    needs: ALL,
    load: async () => (await import('../importer/import-cli.ts')).runImportCli,
  },
  tail: {
    about: 'print a topic as JSON lines',
    needs: KAFKA_ONLY,
    load: async () => (await import('../ops/tail.ts')).runTail,
  },
  redrive: {
    about: 're-send failed movements to events',
    needs: ALL,
    load: async () => (await import('../ops/redrive.ts')).runRedrive,
  },
  revert: {
    about: 'undo an imported file with a reversal for each of its movements',
    needs: ALL,
    load: async () => (await import('../ops/revert.ts')).runRevert,
  },
  stats: {
    about: 'stock, parked, errors, lag and throughput',
    needs: KAFKA_AND_DB,
    load: async () => (await import('../ops/stats.ts')).runStats,
  },
  offsets: {
    about: 'ledger offsets against the log; --accept-reset for a recreated topic',
    needs: KAFKA_AND_DB,
    load: async () => (await import('../ops/offsets.ts')).runOffsets,
  },
  migrate: {
    about: 'apply database migrations',
    needs: DB_ONLY,
    load: async () => (await import('../ops/migrate.ts')).runMigrate,
  },
  start: {
    about: 'run the whole system on this machine',
    needs: [],
    load: async () => (await import('../ops/start.ts')).runStart,
  },
  psql: {
    about: "open psql on the ledger (--app: as the services' role)",
    needs: DB_ONLY,
    load: async () => (await import('../ops/psql.ts')).runPsql,
  },
  stack: {
    about: 'run Kafka, the registry and Postgres only',
    needs: [],
    load: async () => (await import('../infra/stack-cli.ts')).runStackCli,
  },
}

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length))
  return `usage: stockflow <command> [options]\n\n${Object.entries(COMMANDS)
    .map(([name, c]) => `  ${name.padEnd(width)}  ${c.about}`)
    .join(
      '\n',
    )}\n\nSettings come from the environment, then .env in this folder, then the local stack running here\n(npm start or npm run stack); see sample.env.`
}

const [name, ...rest] = process.argv.slice(2)
const command = name ? COMMANDS[name] : undefined
if (!command) {
  // Asked-for help is output; help after a mistake is a diagnostic.
  const asked = name === undefined || name === '--help' || name === '-h'
  ;(asked ? console.log : console.error)(usage())
  process.exit(asked ? 0 : 1)
}
try {
  const resolved = resolveEnv(process.env, process.cwd(), { useRunningStack: name !== 'stack' })
  const asksHelp = rest.includes('--help') || rest.includes('-h')
  const starts = name === 'start' || name === 'stack'
  const checked = starts ? ALL.filter((k) => resolved.sources[k]) : command.needs
  if (!asksHelp) await preflight(resolved, checked)
  const run = await command.load()
  // Services resolve undefined and keep running until a signal; tools resolve their exit code.
  const code = await run(rest, resolved.env)
  if (typeof code === 'number') process.exit(code)
} catch (err) {
  const e = err as Error & { code?: string }
  console.error(`stockflow ${name}: ${e.message}`)
  process.exit(e.code === 'USAGE' ? 64 : 1)
}
