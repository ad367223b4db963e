// `stockflow stats`: what an operator asks first: stock, parked, errors, lag, throughput.
import { parseArgs } from 'node:util'
import { consumerLag } from '../ledger/lag.ts'
import { readToOffsets } from '../ledger/offsets.ts'
import { loadConfig } from '../lib/config.ts'
import { createSql } from '../lib/db.ts'
import { UsageError } from '../lib/errors.ts'
import { createKafka } from '../lib/kafka.ts'
import { createLogger } from '../lib/log.ts'

const USAGE = `usage: stockflow stats [--window DURATION] [--json]

Stock, parked sales, failed movements and import rejections by code, consumer lag by topic and
partition, and the events applied over the window (default 5m; e.g. 90s, 15m, 2h).`

/** "90s", "15m", "2h" (or plain seconds) as seconds; undefined when it is none of those. */
export function parseWindow(text: string): number | undefined {
  const m = /^(\d+)\s*(s|m|h)?$/.exec(text.trim())
  if (!m) return undefined
  const n = Number(m[1]) * ({ s: 1, m: 60, h: 3600 } as const)[(m[2] ?? 's') as 's' | 'm' | 'h']
  return n > 0 && n <= 366 * 24 * 3600 ? n : undefined
}

/** The arguments, or undefined when help was asked for. */
export function parseStatsArgs(
  argv: string[],
): { json: boolean; window: string; windowSeconds: number } | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean', default: false },
      window: { type: 'string', default: '5m' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) return undefined
  const windowSeconds = parseWindow(values.window)
  if (windowSeconds === undefined)
    throw new UsageError('USAGE', `${USAGE}\n\n'${values.window}' is not a duration`)
  return { json: values.json, window: values.window, windowSeconds }
}

export async function collectStats(env: NodeJS.ProcessEnv, windowSeconds = 300) {
  const config = loadConfig(env)
  const sql = createSql({ url: config.db.url, schema: config.db.schema, max: 2, name: 'stockflow-stats' })
  const kafka = createKafka(
    config.kafka,
    createLogger({ name: 'stats', level: 'error', stderr: true }),
    `${config.kafka.clientId}-stats`,
  )
  const admin = kafka.admin()
  try {
    await admin.connect()
    const [[stock], [parked], errors, [rate], ledgerOffsets, imports] = await Promise.all([
      sql`select count(*)::int as items, coalesce(sum(quantity), 0)::bigint as units,
                 count(*) filter (where low_state > 0)::int as low
          from stock_levels where last_transaction_id is not null`,
      sql`select count(*)::int as n from parked_sales`,
      sql`select code, count(*)::int as n from errored_movements group by code order by n desc`,
      // Movements, not journal rows: a transfer's two legs are one movement.
      sql`select count(*)::int as applied from stock_journal
          where leg = 1 and applied_at > now() - make_interval(secs => ${windowSeconds})`,
      readToOffsets(sql, config.processor.groupId, config.topics.events),
      sql`select level, code, count from import_problems order by count desc, code`,
    ])
    const lag = await consumerLag(admin, config, ledgerOffsets)
    return {
      stock: { items: stock?.items ?? 0, units: Number(stock?.units ?? 0), low: stock?.low ?? 0 },
      parked: parked?.n ?? 0,
      errors_by_code: Object.fromEntries(errors.map((e) => [e.code, e.n])),
      import_rejections: {
        rows_by_code: Object.fromEntries(
          imports.filter((i) => i.level === 'row').map((i) => [i.code, Number(i.count)]),
        ),
        files_by_code: Object.fromEntries(
          imports.filter((i) => i.level === 'file').map((i) => [i.code, Number(i.count)]),
        ),
      },
      lag,
      throughput: {
        window_seconds: windowSeconds,
        applied: rate?.applied ?? 0,
        per_second: Math.round(((rate?.applied ?? 0) / windowSeconds) * 100) / 100,
      },
    }
  } finally {
    await Promise.allSettled([admin.disconnect(), sql.end({ timeout: 5 })])
  }
}

export async function runStats(
  argv: string[],
  env: NodeJS.ProcessEnv,
  out: (line: string) => void = console.log,
): Promise<number> {
  const args = parseStatsArgs(argv)
  if (!args) {
    out(USAGE)
    return 0
  }
  const { json, window, windowSeconds } = args
  const s = await collectStats(env, windowSeconds)
  if (json) {
    out(JSON.stringify(s))
    return 0
  }
  const codes = (m: Record<string, number>) =>
    Object.entries(m)
      .map(([c, n]) => `${c}=${n}`)
      .join(' ') || 'none'
  out(`stock       ${s.stock.items} items, ${s.stock.units} units, ${s.stock.low} low`)
  out(`parked      ${s.parked} sales waiting for stock`)
  out(`failed      ${codes(s.errors_by_code)}  (movements the processor gave up on; stockflow redrive)`)
  out(`imports     rows rejected: ${codes(s.import_rejections.rows_by_code)}`)
  out(`            files refused: ${codes(s.import_rejections.files_by_code)}`)
  out(
    `throughput  ${s.throughput.applied} events applied in the last ${/^\d+$/.test(window.trim()) ? `${window.trim()}s` : window} (${s.throughput.per_second}/s)`,
  )
  for (const [group, parts] of Object.entries(s.lag)) {
    const total = parts.reduce((n, p) => n + p.lag, 0)
    const each = parts.map((p) => `${p.topic}/${p.partition}=${p.lag}`).join(' ')
    out(`lag         ${group}: ${total}  (${each})`)
  }
  return 0
}
