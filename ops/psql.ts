// `stockflow psql`: psql on the ledger, as the owner (the default, for operators) or with `--app` as the
// services' least-privilege role, with the search path set to DATABASE_SCHEMA. Arguments after the
// options go to psql unchanged: `stockflow psql -c 'select * from current_stock'`.
import { spawn } from 'node:child_process'
import { findPostgresProgram } from '../infra/postgres-server.ts'
import { loadDbConfig } from '../lib/config.ts'
import { UsageError } from '../lib/errors.ts'

const USAGE = `usage: stockflow psql [--app] [psql arguments…]

Opens psql on DATABASE_URL (the owner), or with --app on the services' role (DATABASE_APP_URL, which the
local stack provides). The search path is DATABASE_SCHEMA. Views for people: current_stock, stock_history,
parked_queue, errored_movements, import_problems.`

/**
 * A postgres:// URL as libpq's variables. Passed in the environment, not on the command line, where any
 * local user could read the password in /proc.
 */
export function libpqEnv(url: string): NodeJS.ProcessEnv {
  const u = new URL(url)
  const out: NodeJS.ProcessEnv = {}
  const host = u.searchParams.get('host') ?? u.hostname.replace(/^\[|\]$/g, '')
  if (host) out.PGHOST = host
  if (u.port) out.PGPORT = u.port
  if (u.username) out.PGUSER = decodeURIComponent(u.username)
  if (u.password) out.PGPASSWORD = decodeURIComponent(u.password)
  if (u.pathname.length > 1) out.PGDATABASE = decodeURIComponent(u.pathname.slice(1))
  const sslmode = u.searchParams.get('sslmode')
  if (sslmode) out.PGSSLMODE = sslmode
  return out
}

export async function runPsql(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv[0] === '--help' || argv[0] === '-h') {
    console.log(USAGE)
    return 0
  }
  const asApp = argv[0] === '--app'
  const args = asApp ? argv.slice(1) : argv
  const db = loadDbConfig(env)
  const url = asApp ? env.DATABASE_APP_URL : db.url
  if (!url) throw new UsageError('USAGE', `--app needs DATABASE_APP_URL (the local stack sets it)\n${USAGE}`)
  const psql = await findPostgresProgram('psql')
  if (!psql)
    throw new Error('psql was not found; install the PostgreSQL client (apt-get install postgresql-client)')
  const child = spawn(psql, args, {
    stdio: 'inherit',
    env: {
      ...env,
      ...libpqEnv(url),
      PGOPTIONS: `${env.PGOPTIONS ?? ''} -c search_path=${db.schema}`.trim(),
    },
  })
  // psql handles Ctrl-C itself (it cancels the query); this process only waits for it.
  process.on('SIGINT', () => {})
  return await new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)))
  })
}
