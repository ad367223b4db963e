// Per-suite isolation for integration tests: unique topics, group, subject and DB schema on the shared stack.
import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'
import { type Config, loadConfig } from '../../lib/config.ts'
import { createSql, migrate, type Sql } from '../../lib/db.ts'
import { createLogger, type Logger } from '../../lib/log.ts'

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`
}

export interface TestContext {
  id: string
  env: Record<string, string>
  config: Config
  sql: Sql
  log: Logger
  close(): Promise<void>
}

/**
 * A config whose topics, consumer groups and schema belong to this suite alone, and a migrated schema.
 * `overrides` are env keys, so tests exercise loadConfig exactly as the services do.
 */
export async function createTestContext(
  prefix: string,
  overrides: Record<string, string> = {},
): Promise<TestContext> {
  const id = uniqueName(prefix.replace(/[^a-z0-9]/g, '_'))
  const stack = inject('stack')
  const env: Record<string, string> = {
    ...stack,
    DATABASE_SCHEMA: id,
    TOPIC_EVENTS: `${id}.events`,
    TOPIC_ERRORS: `${id}.errors`,
    TOPIC_LOW_STOCK: `${id}.low-stock`,
    PROCESS_GROUP_ID: `${id}.processor`,
    ALERT_GROUP_ID: `${id}.alerter`,
    EVENTS_PARTITIONS: '3',
    ERRORS_PARTITIONS: '1',
    LOW_STOCK_PARTITIONS: '1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    ...overrides,
  }
  const config = loadConfig(env)
  const log = createLogger({ name: prefix, level: config.log.level })
  const sql = createSql({ url: config.db.url, schema: config.db.schema, max: 4, name: `test-${prefix}` })
  await migrate(sql, { schema: config.db.schema })
  return {
    id,
    env,
    config,
    sql,
    log,
    async close() {
      await sql.end({ timeout: 5 })
    },
  }
}

/** Bounded polling: resolves with the first truthy value of `probe`, or fails with `what` after the deadline. */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000)
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const v = await probe()
      if (v) return v
    } catch (err) {
      last = err
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100))
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`)
}

/**
 * How statements ended when run as one of the project's roles (`SET LOCAL ROLE` on the owner's connection,
 * in a transaction of their own): 'ok', or the SQLSTATE Postgres refused them with.
 */
export function sqlstateAs(
  sql: Sql,
  role: 'stockflow_app' | 'stockflow_web',
  run: (tx: Sql) => Promise<unknown>,
): Promise<string | undefined> {
  return sqlstateOf(
    sql.begin(async (tx) => {
      await tx.unsafe(`set local role ${role}`)
      await run(tx as unknown as Sql)
    }),
  )
}

/** How a statement ended: 'ok', or the SQLSTATE Postgres refused it with. */
export function sqlstateOf(statement: Promise<unknown>): Promise<string | undefined> {
  return statement.then(
    () => 'ok',
    (e: { code?: string }) => e.code,
  )
}
