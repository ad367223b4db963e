// `stockflow migrate`: applies pending migrations to DATABASE_SCHEMA and exits. DATABASE_URL is all it
// needs, so a database can be prepared before any broker exists. With DATABASE_APP_PASSWORD set it also lets
// the services' role (stockflow_app, created without a login) log in with that password: what a deployment
// that does not start Postgres itself (docker-compose.yml) needs. DATABASE_WEB_PASSWORD does the same for the
// web console's read-only role, stockflow_web.
import { parseArgs } from 'node:util'
import { loadMigrateConfig } from '../lib/config.ts'
import { createSql, migrate } from '../lib/db.ts'
import { createLogger } from '../lib/log.ts'

const USAGE = `usage: stockflow migrate

Applies the pending migrations (db/migrations/) to DATABASE_SCHEMA on DATABASE_URL, as that URL's role
(the owner), and exits; DATABASE_URL is the only setting it needs. With DATABASE_APP_PASSWORD set it also
lets the services' role stockflow_app log in with that password, and with DATABASE_WEB_PASSWORD the
console's read-only role stockflow_web. npm start runs it before the services.`

/** False when help was asked for; it takes no other argument. */
export function parseMigrateArgs(argv: string[]): boolean {
  const { values } = parseArgs({
    args: argv,
    options: { help: { type: 'boolean', short: 'h', default: false } },
  })
  return !values.help
}

export async function runMigrate(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (!parseMigrateArgs(argv)) {
    console.log(USAGE)
    return 0
  }
  const config = loadMigrateConfig(env)
  const log = createLogger({ name: 'migrate', level: config.log.level, stderr: true })
  const sql = createSql({ url: config.db.url, max: 1, name: 'stockflow-migrate' })
  try {
    const applied = await migrate(sql, { schema: config.db.schema, log })
    console.log(applied.length > 0 ? `applied ${applied.join(', ')}` : 'up to date')
    const logins: [string, string | undefined][] = [
      ['stockflow_app', config.db.appPassword],
      ['stockflow_web', config.db.webPassword],
    ]
    for (const [role, password] of logins) {
      if (password === undefined) continue
      // A role's password cannot be a bind parameter; format() quotes it as a literal.
      const [row] =
        await sql`select format('alter role %I login password %L', ${role}::text, ${password}::text) as stmt`
      await sql.unsafe(String(row?.stmt))
      console.log(`${role} may log in`)
    }
    return 0
  } finally {
    await sql.end({ timeout: 5 })
  }
}
