// `stockflow stats`: what an operator asks first: stock, parked, errors, lag, throughput.
import { parseArgs } from 'node:util'
import { loadConfig } from '../lib/config.ts'
import { createSql } from '../lib/db.ts'
import { createKafka, groupLag } from '../lib/kafka.ts'
import { createLogger } from '../lib/log.ts'
import { readOffsets } from '../processor/offset-store.ts'

export async function collectStats(env: NodeJS.ProcessEnv) {
  const config = loadConfig(env)
  const sql = createSql({ url: config.db.url, schema: config.db.schema, max: 2, name: 'stockflow-stats' })
  const kafka = createKafka(
    config.kafka,
    createLogger({ name: 'stats', level: 'error' }),
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
      sql`select count(*) filter (where applied_at > now() - interval '1 minute')::int as last_minute,
                 count(*) filter (where applied_at > now() - interval '5 minutes')::int as last_5_minutes
          from stock_journal where applied_at > now() - interval '5 minutes'`,
      readOffsets(sql, config.processor.groupId, config.topics.events),
      sql`select level, code, count from import_problems order by count desc, code`,
    ])
    const lag = {
      [config.processor.groupId]: await groupLag(admin, config.processor.groupId, config.topics.events),
      [config.alerter.groupId]: [
        ...(await groupLag(admin, config.alerter.groupId, config.topics.errors)).map((p) => ({
          topic: config.topics.errors,
          ...p,
        })),
        ...(await groupLag(admin, config.alerter.groupId, config.topics.lowStock)).map((p) => ({
          topic: config.topics.lowStock,
          ...p,
        })),
      ],
    }
    // Postgres holds the processor's true position; Kafka's committed offsets may trail it.
    lag[config.processor.groupId] = lag[config.processor.groupId]!.map((p) => {
      const stored = ledgerOffsets.get(p.partition) ?? 0
      return {
        ...p,
        committed: Math.max(p.committed, stored),
        lag: Math.max(0, p.high - Math.max(p.committed, stored)),
      }
    })
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
        applied_last_minute: rate?.last_minute ?? 0,
        per_second_last_minute: Math.round((rate?.last_minute ?? 0) / 60),
        per_second_last_5_minutes: Math.round((rate?.last_5_minutes ?? 0) / 300),
      },
    }
  } finally {
    await Promise.allSettled([admin.disconnect(), sql.end({ timeout: 5 })])
  }
}

export async function runStats(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false } } })
  const s = await collectStats(env)
  if (values.json) {
    console.log(JSON.stringify(s))
    return 0
  }
  console.log(`stock     ${s.stock.items} items, ${s.stock.units} units, ${s.stock.low} low`)
  console.log(`parked    ${s.parked} sales waiting for stock`)
  console.log(
    `errors    ${
      Object.entries(s.errors_by_code)
        .map(([c, n]) => `${c}=${n}`)
        .join(' ') || 'none'
    }`,
  )
  const codes = (m: Record<string, number>) =>
    Object.entries(m)
      .map(([c, n]) => `${c}=${n}`)
      .join(' ') || 'none'
  console.log(`imports   rows rejected: ${codes(s.import_rejections.rows_by_code)}`)
  console.log(`          files refused: ${codes(s.import_rejections.files_by_code)}`)
  console.log(
    `throughput ${s.throughput.per_second_last_minute}/s (1 min), ${s.throughput.per_second_last_5_minutes}/s (5 min)`,
  )
  for (const [group, parts] of Object.entries(s.lag)) {
    const total = parts.reduce((n, p) => n + p.lag, 0)
    console.log(`lag       ${group}: ${total} (${parts.map((p) => `p${p.partition}=${p.lag}`).join(' ')})`)
  }
  return 0
}
