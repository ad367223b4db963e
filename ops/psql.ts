// `stockflow psql`: psql on the ledger, as the owner (the default, for operators) or with `--app` as the
// services' least-privilege role, with the search path set to DATABASE_SCHEMA. Arguments after the
// options go to psql unchanged: `stockflow psql -c 'select * from current_stock'`.
import { spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { loadConfig } from '../lib/config.ts'
import { UsageError } from '../lib/errors.ts'

const USAGE = `usage: stockflow psql [--app] [psql arguments…]

Opens psql on DATABASE_URL (the owner), or with --app on the services' role (DATABASE_APP_URL, which the
local stack provides). The search path is DATABASE_SCHEMA. Views for people: current_stock, stock_history,
parked_queue, errored_movements, import_problems.`

/** psql on PATH, or the newest one of Debian's PostgreSQL packages. */
function findPsql(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(`${dir}/psql`)) return `${dir}/psql`
  }
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : []
  for (const v of versions) if (existsSync(`${root}/${v}/bin/psql`)) return `${root}/${v}/bin/psql`
  throw new Error('psql was not found; install the PostgreSQL client (apt-get install postgresql-client)')
}

export async function runPsql(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv[0] === '--help' || argv[0] === '-h') {
    console.log(USAGE)
    return 0
  }
  const asApp = argv[0] === '--app'
  const args = asApp ? argv.slice(1) : argv
  const config = loadConfig(env)
  const url = asApp ? env.DATABASE_APP_URL : config.db.url
  if (!url) throw new UsageError('USAGE', `--app needs DATABASE_APP_URL (the local stack sets it)\n${USAGE}`)
  const child = spawn(findPsql(), [url, ...args], {
    stdio: 'inherit',
    env: { ...env, PGOPTIONS: `${env.PGOPTIONS ?? ''} -c search_path=${config.db.schema}`.trim() },
  })
  // psql handles Ctrl-C itself (it cancels the query); this process only waits for it.
  process.on('SIGINT', () => {})
  return await new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)))
  })
}
