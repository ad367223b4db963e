// `stockflow migrate`: applies pending migrations to DATABASE_SCHEMA and exits.
import { loadConfig } from '../lib/config.ts'
import { createSql, migrate } from '../lib/db.ts'
import { createLogger } from '../lib/log.ts'

export async function runMigrate(_argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const config = loadConfig(env)
  const log = createLogger({ name: 'migrate', level: config.log.level })
  const sql = createSql({ url: config.db.url, max: 1, name: 'stockflow-migrate' })
  try {
    const applied = await migrate(sql, { schema: config.db.schema, log })
    console.log(applied.length > 0 ? `applied ${applied.join(', ')}` : 'up to date')
    return 0
  } finally {
    await sql.end({ timeout: 5 })
  }
}
