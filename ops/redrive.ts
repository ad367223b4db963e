// `stockflow redrive`: sends failed movements back to `events` once their cause is fixed.
import { parseArgs } from 'node:util'
import { loadConfig } from '../lib/config.ts'
import { createSql, type Sql } from '../lib/db.ts'
import { UsageError } from '../lib/errors.ts'
import { createIdempotentProducer, createKafka } from '../lib/kafka.ts'
import { createLogger } from '../lib/log.ts'
import { createEncoder, createRegistry } from '../lib/registry.ts'
import { movementKey, type StockMovement } from '../schemas/contract.ts'
import { REDRIVE_HEADER, SOURCE_FILE_HEADER, SOURCE_LINE_HEADER } from '../schemas/headers.ts'

export interface RedriveFilter {
  code?: string
  store?: number
  item?: number
  since?: string
  until?: string
}

const USAGE = `usage: stockflow redrive (--code C | --store N | --item N | --since ISO | --until ISO)… [--dry-run]
       stockflow redrive --all [--dry-run]

Sends failed movements (the errored_movements view, stage 'process') back to the events topic, once
their cause is fixed: book the missing stock first, then re-drive. Each keeps its source file and line,
and its failed_movements row is kept and marked redriven. The filters combine (and); without one,
--all is required. --dry-run prints what would be sent and sends nothing. Every run is audited in
the redrives table.`

/** The arguments, or undefined when help was asked for. */
export function parseRedriveArgs(argv: string[]): { filter: RedriveFilter; dryRun: boolean } | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      all: { type: 'boolean', default: false },
      code: { type: 'string' },
      store: { type: 'string' },
      item: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    },
  })
  const int = (v: string | undefined) => {
    if (v === undefined) return undefined
    if (!/^\d+$/.test(v)) throw new UsageError('USAGE', `${USAGE}\n--store and --item take positive integers`)
    return Number(v)
  }
  for (const d of [values.since, values.until]) {
    if (d !== undefined && Number.isNaN(Date.parse(d)))
      throw new UsageError('USAGE', `${USAGE}\n'${d}' is not a date`)
  }
  const filter: RedriveFilter = {
    code: values.code,
    store: int(values.store),
    item: int(values.item),
    since: values.since,
    until: values.until,
  }
  const given = Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined))
  if (values.help) return undefined
  if (Object.keys(given).length === 0 && !values.all) {
    throw new UsageError('USAGE', `${USAGE}\n\nNo filter given: name what to re-drive, or pass --all.`)
  }
  if (Object.keys(given).length > 0 && values.all) {
    throw new UsageError('USAGE', `${USAGE}\n\n--all cannot be combined with a filter.`)
  }
  return { filter: given, dryRun: values['dry-run'] }
}

/** Failed movements matching the filter. Import-stage rejections are not here: fix the rejected CSV and drop it again. */
export async function selectFailed(sql: Sql, f: RedriveFilter) {
  return sql`
    select transaction_id::text, event_type, occurred_at, store_number, item_number, quantity, code, failed_at,
           source_file, source_line
    from failed_movements
    where redriven_at is null
      ${f.code ? sql`and code = ${f.code}` : sql``}
      ${f.store !== undefined ? sql`and store_number = ${f.store}` : sql``}
      ${f.item !== undefined ? sql`and item_number = ${f.item}` : sql``}
      ${f.since ? sql`and failed_at >= ${new Date(f.since)}` : sql``}
      ${f.until ? sql`and failed_at < ${new Date(f.until)}` : sql``}
    order by failed_at, transaction_id`
}

export async function runRedrive(
  argv: string[],
  env: NodeJS.ProcessEnv,
  out: (line: string) => void = console.log,
): Promise<number> {
  const args = parseRedriveArgs(argv)
  if (!args) {
    out(USAGE)
    return 0
  }
  const { filter, dryRun } = args
  const config = loadConfig(env)
  const sql = createSql({ url: config.db.url, schema: config.db.schema, max: 2, name: 'stockflow-redrive' })
  try {
    const rows = await selectFailed(sql, filter)
    const movements: StockMovement[] = rows.map((r) => ({
      transaction_id: r.transaction_id,
      event_type: r.event_type,
      occurred_at: (r.occurred_at as Date).getTime(),
      store_number: r.store_number,
      item_number: r.item_number,
      quantity: r.quantity,
    }))
    const [audit] = await sql`
      insert into redrives (filter, dry_run, count) values (${sql.json(filter as never)}, ${dryRun}, ${rows.length})
      returning id`
    for (const r of rows) {
      out(
        JSON.stringify({
          transaction_id: r.transaction_id,
          code: r.code,
          store: r.store_number,
          item: r.item_number,
          quantity: r.quantity,
          dry_run: dryRun,
        }),
      )
    }
    if (!dryRun && movements.length > 0) {
      const log = createLogger({ name: 'redrive', level: 'error' })
      const kafka = createKafka(config.kafka, log, `${config.kafka.clientId}-redrive`)
      const registry = createRegistry(config.registry)
      const encoder = await createEncoder<StockMovement>(
        registry,
        config.registry,
        config.topics.events,
        'StockMovement',
      )
      const producer = createIdempotentProducer(kafka, { retries: 5 })
      await producer.connect()
      try {
        await producer.send({
          topic: config.topics.events,
          acks: -1,
          // The movement keeps its provenance: the processor records the original file and line again.
          messages: movements.map((m, i) => ({
            key: movementKey(m.store_number, m.item_number),
            value: encoder.encode(m),
            headers: {
              [REDRIVE_HEADER]: String(audit!.id),
              ...(rows[i]!.source_file ? { [SOURCE_FILE_HEADER]: rows[i]!.source_file as string } : {}),
              ...(rows[i]!.source_line ? { [SOURCE_LINE_HEADER]: String(rows[i]!.source_line) } : {}),
            },
          })),
        })
      } finally {
        await producer.disconnect()
      }
    }
    console.error(
      `${dryRun ? 'would re-drive' : 're-drove'} ${rows.length} movement(s) (redrive #${audit!.id})`,
    )
    return 0
  } finally {
    await sql.end({ timeout: 5 })
  }
}
