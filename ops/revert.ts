// `stockflow revert`: undoes a whole imported file with a reversal for every movement it applied.
import { userInfo } from 'node:os'
import { parseArgs } from 'node:util'
import type { Producer } from 'kafkajs'
import { connectEventsProducer } from '../ledger/events-producer.ts'
import { createRevertSender, type RevertSend, revert } from '../ledger/revert.ts'
import { loadConfig } from '../lib/config.ts'
import { createSql } from '../lib/db.ts'
import { UsageError } from '../lib/errors.ts'
import { createKafka } from '../lib/kafka.ts'
import { createLogger } from '../lib/log.ts'

const USAGE = `usage: stockflow revert FILE [--dry-run]
       stockflow revert --sha256 HASH [--dry-run]

Undoes an imported file: publishes a reversal for every movement the file applied, and withdraws the
ones still parked, which are then never applied. FILE is the name its receipt gives (relative to the
input folder); a name imported with different contents is chosen by --sha256. Nothing is deleted: each
reversal is a journal row of its own, dated when the file was first reverted.

--dry-run prints what would happen and publishes nothing: movements to reverse, already reversed,
still parked (to be withdrawn), and whose reversal would take an item below zero (it parks, then fails
as INSUFFICIENT_STOCK), then each changed item's stock now and after. Running it again publishes
nothing new. Every run is recorded in file_reverts (the import_reverts view), with who ran it.`

export function parseRevertArgs(
  argv: string[],
): { selector: { file?: string; sha256?: string }; dryRun: boolean } | undefined {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (err) {
    throw new UsageError('USAGE', `${USAGE}\n\n${(err as Error).message}`)
  }
  const { values, positionals } = parsed
  if (values.help) return undefined
  const sha = values.sha256
  if ((positionals.length === 1) === (sha !== undefined) || positionals.length > 1) {
    throw new UsageError('USAGE', `${USAGE}\n\nName one import: a FILE or --sha256 HASH.`)
  }
  if (sha !== undefined && !/^[0-9a-fA-F]{64}$/.test(sha)) {
    throw new UsageError('USAGE', `${USAGE}\n\n'${sha}' is not a sha256 (64 hex digits).`)
  }
  return {
    selector: sha === undefined ? { file: positionals[0]! } : { sha256: sha.toLowerCase() },
    dryRun: values['dry-run'],
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      sha256: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    },
  })
}

export async function runRevert(
  argv: string[],
  env: NodeJS.ProcessEnv,
  out: (line: string) => void = console.log,
): Promise<number> {
  const args = parseRevertArgs(argv)
  if (!args) {
    out(USAGE)
    return 0
  }
  const config = loadConfig(env)
  const sql = createSql({ url: config.db.url, schema: config.db.schema, max: 2, name: 'stockflow-revert' })
  let producer: Producer | undefined
  try {
    let send: RevertSend | undefined
    if (!args.dryRun) {
      const log = createLogger({ name: 'revert', level: 'error', stderr: true })
      const events = await connectEventsProducer(
        createKafka(config.kafka, log, `${config.kafka.clientId}-revert`),
        config,
      )
      producer = events.producer
      send = createRevertSender(events)
    }
    const r = await revert({
      sql,
      send,
      selector: args.selector,
      dryRun: args.dryRun,
      actor: `cli:${userInfo().username}`,
    })
    const c = r.counts
    out(
      JSON.stringify({
        file: r.fileName,
        sha256: r.sha256,
        dry_run: args.dryRun,
        rows_accepted: r.rowsAccepted,
        to_reverse: c.toReverse,
        already_reversed: c.alreadyReversed,
        to_withdraw: c.toWithdraw,
        would_go_below_zero: c.belowZero,
        reversal_failed_before: c.reversalFailed,
        reversals_in_file: c.reversalsInFile,
        not_applied: c.notApplied,
        published: r.sent,
        revert: r.auditId,
      }),
    )
    for (const i of r.items)
      out(JSON.stringify({ store: i.store, item: i.item, now: i.quantity, after: i.after }))
    if (c.reversalFailed > 0) {
      console.error(
        `${c.reversalFailed} movement(s) of the file have a reversal that failed (see failed_movements); ` +
          `once its cause is fixed, re-drive it: stockflow redrive --file 'stockflow revert ${r.fileName}'`,
      )
    }
    console.error(
      args.dryRun
        ? `would publish ${r.reversals.length} reversal(s) for ${r.fileName}`
        : `published ${r.sent} reversal(s) for ${r.fileName} (revert #${r.auditId}); the processor applies them`,
    )
    return 0
  } finally {
    await Promise.allSettled([producer?.disconnect(), sql.end({ timeout: 5 })])
  }
}
