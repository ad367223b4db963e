// Postgres client (postgres.js) and the migration runner over db/migrations/*.sql.
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import postgres from 'postgres'
import { isCanonicalUuid } from '../schemas/movement-rules.ts'
import { classifyDbError, DbError } from './errors.ts'
import type { Logger } from './log.ts'

export type Sql = postgres.Sql<Record<string, never>>
/** An open transaction (inside `sql.begin`): what a helper that takes savepoints needs. */
export type Transaction = postgres.TransactionSql<Record<string, never>>
/** What a query helper needs: the pool or an open transaction. */
export type Tx = Transaction | Sql

export const MIGRATIONS_DIR = fileURLToPath(new URL('../db/migrations/', import.meta.url))

export interface DbOptions {
  url: string
  /** Every connection's search_path; tests give each suite its own schema. */
  schema?: string
  max?: number
  /** Application name, shown in pg_stat_activity. */
  name?: string
  /** Extra session settings (e.g. statement_timeout), on top of the role's own. */
  settings?: Record<string, string>
}

export function createSql(opts: DbOptions): Sql {
  return postgres(opts.url, {
    max: opts.max ?? 5,
    onnotice: () => {},
    connect_timeout: 10,
    idle_timeout: 60,
    // bigint columns (offsets, counters) come back as JS numbers; they stay far below 2^53.
    types: {
      bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
    },
    connection: {
      application_name: opts.name ?? 'stockflow',
      // Business dates are UTC days, and the server's own zone (initdb takes the host's) must not move
      // them; nor may it print an offset with seconds (local mean time before ~1940), which the client
      // cannot parse into a Date.
      TimeZone: 'UTC',
      ...(opts.schema ? { search_path: opts.schema } : {}),
      ...opts.settings,
    },
  }) as unknown as Sql
}

export interface Migration {
  version: string
  name: string
  sql: string
  checksum: string
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d+_[a-z0-9_-]+\.sql$/.test(f))
    .sort()
    .map((f) => {
      const sql = readFileSync(join(dir, f), 'utf8')
      return {
        version: f.split('_')[0]!,
        name: f,
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      }
    })
}

/** A stable 32-bit key per schema, so migrations of different schemas do not wait on each other. */
function lockKey(schema: string): number {
  return createHash('sha256').update(`stockflow-migrate:${schema}`).digest().readInt32BE(0)
}

/**
 * Applies pending migrations in one transaction under an advisory lock, so concurrent starters
 * serialise and a failed migration leaves nothing half-applied. Returns the versions applied.
 */
export async function migrate(
  sql: Sql,
  opts: { schema: string; log?: Logger; dir?: string },
): Promise<string[]> {
  const migrations = loadMigrations(opts.dir)
  try {
    return await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${lockKey(opts.schema)})`
      await tx.unsafe(`create schema if not exists "${opts.schema}"`)
      await tx.unsafe(`set local search_path to "${opts.schema}"`)
      await tx`
        create table if not exists schema_migrations (
          version text primary key,
          name text not null,
          checksum text not null,
          applied_at timestamptz not null default now()
        )`
      const done = new Map(
        (await tx`select version, checksum from schema_migrations`).map((r) => [r.version, r]),
      )
      const applied: string[] = []
      for (const m of migrations) {
        const prior = done.get(m.version)
        if (prior) {
          if (prior.checksum !== m.checksum) {
            opts.log?.warn({ migration: m.name }, 'applied migration was edited since; leaving it as applied')
          }
          continue
        }
        await tx.unsafe(m.sql)
        await tx`insert into schema_migrations (version, name, checksum) values (${m.version}, ${m.name}, ${m.checksum})`
        applied.push(m.version)
        opts.log?.info({ migration: m.name, schema: opts.schema }, 'migration applied')
      }
      return applied
    })
  } catch (err) {
    throw classifyDbError(err, { op: 'migrate', schema: opts.schema })
  }
}

/** Services do not migrate (they may run as the unprivileged app role); they refuse to start on an old schema. */
export async function assertMigrated(sql: Sql, opts: { dir?: string } = {}): Promise<void> {
  const latest = loadMigrations(opts.dir).at(-1)?.version
  let current: string | undefined
  try {
    const [row] = await sql`select max(version) as v from schema_migrations`
    current = row?.v as string | undefined
  } catch (err) {
    const e = classifyDbError(err, { op: 'schema-check' })
    if (e.retriable) throw e
  }
  if (current !== latest) {
    throw new DbError(
      'DB_ERROR',
      `database schema is at ${current ?? 'nothing'}, this version needs ${latest}: run 'stockflow migrate' first`,
      {
        context: { current, latest },
      },
    )
  }
}

/**
 * Multi-row inserts bind one parameter per cell and Postgres allows 65,535 per statement;
 * 2,000 rows of up to 15 columns stay well below that.
 */
export function chunks<T>(rows: T[], size = 2000): T[][] {
  const out: T[][] = []
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size))
  return out
}

/**
 * One array parameter as a Postgres array literal, for values that never need quoting: integers and
 * lower-case uuids, or null. Cast it from text: `${arrayLiteral(ids)}::text::uuid[]`. postgres.js quotes
 * and escapes every element of an array parameter with two regular expressions; on the processor's
 * batches that was a large share of its CPU (README, "Where the CPU went").
 * Anything else (a text column) still goes through postgres.js.
 */
export function arrayLiteral(values: readonly (number | string | null)[]): string {
  let out = '{'
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!
    if (i > 0) out += ','
    if (v === null) out += 'NULL'
    else if (typeof v === 'number' ? Number.isSafeInteger(v) : isCanonicalUuid(v)) out += v
    else {
      // Refused like a value Postgres refuses (DB_DATA), so the processor isolates the one message that
      // carried it instead of failing the batch for ever.
      throw new DbError('DB_DATA', `not an integer or a lower-case uuid: ${JSON.stringify(v)}`, {
        context: { index: i },
      })
    }
  }
  return `${out}}`
}

/**
 * A text column sent as its distinct values and, per row, the 1-based index of the row's value (NULL for
 * null). A batch repeats one topic, two event types and a few file names thousands of times; sending
 * each once spares postgres.js quoting every element and Postgres parsing it (README, "Where the CPU
 * went"). In SQL: `(${d.words}::text[])[ref]` for each
 * `ref` of `unnest(${d.refs}::text::int[])`.
 */
export function dictionary(values: readonly (string | null)[]): { words: string[]; refs: string } {
  const index = new Map<string, number>()
  const words: string[] = []
  const refs: (number | null)[] = new Array(values.length)
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!
    if (v === null) {
      refs[i] = null
      continue
    }
    let n = index.get(v)
    if (n === undefined) {
      n = words.push(v)
      index.set(v, n)
    }
    refs[i] = n
  }
  return { words, refs: arrayLiteral(refs) }
}
