// `stockflow redrive`: sends failed movements back to `events` once their cause is fixed.
import { userInfo } from 'node:os'
import { parseArgs } from 'node:util'
import type { Producer } from 'kafkajs'
import { connectEventsProducer } from '../ledger/events-producer.ts'
import {
  createRedriveSender,
  type FailedMovement,
  type RedriveFilter,
  type RedriveSend,
  redrive,
} from '../ledger/redrive.ts'
import { loadConfig } from '../lib/config.ts'
import { createSql } from '../lib/db.ts'
import { UsageError } from '../lib/errors.ts'
import { createKafka } from '../lib/kafka.ts'
import { createLogger } from '../lib/log.ts'

const USAGE = `usage: stockflow redrive (--code C | --store N | --item N | --file F | --since ISO | --until ISO)… [--dry-run]
       stockflow redrive --all [--dry-run]

Sends failed movements (the errored_movements view, stage 'process') back to the events topic, once
their cause is fixed: book the missing stock first, then re-drive. Each keeps its source file and line,
and its failed_movements row is kept and marked redriven. The filters combine (and); without one,
--all is required. --dry-run prints what would be sent and sends nothing. Every run is audited in
the redrives table, with the user who ran it.`

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
      file: { type: 'string' },
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
  for (const [flag, v] of [
    ['--code', values.code],
    ['--file', values.file],
    ['--since', values.since],
    ['--until', values.until],
  ] as const) {
    // An empty value would be no filter in one reading and "matches nothing" in another: refused.
    if (v !== undefined && v.trim() === '') throw new UsageError('USAGE', `${USAGE}\n${flag} needs a value`)
  }
  for (const d of [values.since, values.until]) {
    if (d !== undefined && Number.isNaN(Date.parse(d)))
      throw new UsageError('USAGE', `${USAGE}\n'${d}' is not a date`)
  }
  const filter: RedriveFilter = {
    code: values.code,
    store: int(values.store),
    item: int(values.item),
    file: values.file,
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
  let producer: Producer | undefined
  try {
    let send: RedriveSend | undefined
    // Errors only, on stderr: a re-drive whose audit row could not be finished says so.
    const log = createLogger({ name: 'redrive', level: 'error', stderr: true })
    if (!dryRun) {
      const events = await connectEventsProducer(
        createKafka(config.kafka, log, `${config.kafka.clientId}-redrive`),
        config,
      )
      producer = events.producer
      send = createRedriveSender(events)
    }
    const print = (rows: FailedMovement[]) => {
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
    }
    const result = await redrive({
      sql,
      send,
      filter,
      dryRun,
      actor: `cli:${userInfo().username}`,
      each: print,
      log,
    })
    console.error(
      `${dryRun ? 'would re-drive' : 're-drove'} ${result.count} movement(s) (redrive #${result.auditId})`,
    )
    return 0
  } finally {
    await Promise.allSettled([producer?.disconnect(), sql.end({ timeout: 5 })])
  }
}
