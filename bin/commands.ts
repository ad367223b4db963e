// The stockflow command: services, operator tools and the local stack, one entry point. `stockflow.js`
// beside it picks a Node that runs TypeScript and hands over to this file.
import { loadConfig, type ServiceName } from '../lib/config.ts'
import { enforceMemoryBounds } from '../lib/runtime.ts'

type Run = (argv: string[], env: NodeJS.ProcessEnv) => Promise<number | undefined>

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

const COMMANDS: Record<string, { about: string; load: () => Promise<Run> }> = {
  importer: {
    about: 'watch INPUT_DIR and import CSV files',
    load: async () => service('importer', () => import('../importer/main.ts')),
  },
  processor: {
    about: 'apply events to Postgres exactly once',
    load: async () => service('processor', () => import('../processor/main.ts')),
  },
  alerter: {
    about: 'turn errors and low-stock events into alerts',
    load: async () => service('alerter', () => import('../alerter/main.ts')),
  },
  import: {
    about: 'import FILE… once, writing a receipt beside each',
    load: async () => (await import('../importer/import-cli.ts')).runImportCli,
  },
  tail: { about: 'print a topic as JSON lines', load: async () => (await import('../ops/tail.ts')).runTail },
  redrive: {
    about: 're-send failed movements to events',
    load: async () => (await import('../ops/redrive.ts')).runRedrive,
  },
  stats: {
    about: 'stock, parked, errors, lag and throughput',
    load: async () => (await import('../ops/stats.ts')).runStats,
  },
  offsets: {
    about: 'ledger offsets against the log; --accept-reset for a recreated topic',
    load: async () => (await import('../ops/offsets.ts')).runOffsets,
  },
  migrate: {
    about: 'apply database migrations',
    load: async () => (await import('../ops/migrate.ts')).runMigrate,
  },
  start: {
    about: 'run the whole system on this machine',
    load: async () => (await import('../ops/start.ts')).runStart,
  },
  stack: {
    about: 'run Kafka, the registry and Postgres only',
    load: async () => (await import('../infra/stack-cli.ts')).runStackCli,
  },
}

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length))
  return `usage: stockflow <command> [options]\n\n${Object.entries(COMMANDS)
    .map(([name, c]) => `  ${name.padEnd(width)}  ${c.about}`)
    .join('\n')}\n\nConfiguration comes from the environment; see sample.env.`
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
  const run = await command.load()
  // Services resolve undefined and keep running until a signal; tools resolve their exit code.
  const code = await run(rest, process.env)
  if (typeof code === 'number') process.exit(code)
} catch (err) {
  const e = err as Error & { code?: string }
  console.error(`stockflow ${name}: ${e.message}`)
  process.exit(e.code === 'USAGE' ? 64 : 1)
}
