// `stockflow offsets`: the ledger's offsets beside the log's range, per partition, and the one way to
// accept a recreated topic: `--accept-reset` moves the ledger to the new log's start and resolves the
// incident, after which the halted processor resumes by itself.
import { parseArgs } from 'node:util'
import { acceptReset, readPositions } from '../ledger/offsets.ts'
import { logRanges, offsetRows, openResets } from '../ledger/positioning.ts'
import { loadConfig } from '../lib/config.ts'
import { createSql } from '../lib/db.ts'
import { UsageError } from '../lib/errors.ts'
import { createKafka } from '../lib/kafka.ts'
import { createLogger } from '../lib/log.ts'

const USAGE = `usage: stockflow offsets [--topic T] [--group G] [--accept-reset [--partition N]] [--json]

Lists, per partition, the offset the ledger has applied up to (Postgres) beside the log's start and end
(Kafka), and the state: ok, behind (records to apply), expired (records removed before they were applied)
or halted (the ledger is past the end of the log: the topic was recreated or truncated).

--accept-reset   for halted partitions only: accept the topic as it now is. The ledger's offset moves to the
                 log's start, the incident is marked resolved, and the processor resumes within
                 PROCESS_HALT_RECHECK_MS. Records already applied stay applied; a re-sent transaction id is
                 dropped as a duplicate by the journal.`

/** The arguments, or undefined when help was asked for. */
export function parseOffsetsArgs(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      topic: { type: 'string' },
      group: { type: 'string' },
      partition: { type: 'string' },
      'accept-reset': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) return undefined
  if (values.partition !== undefined && (!/^\d+$/.test(values.partition) || !values['accept-reset']))
    throw new UsageError('USAGE', `${USAGE}\n\n--partition takes a partition number, with --accept-reset`)
  return values
}

export async function runOffsets(
  argv: string[],
  env: NodeJS.ProcessEnv,
  out: (line: string) => void = console.log,
): Promise<number> {
  const values = parseOffsetsArgs(argv)
  if (!values) {
    out(USAGE)
    return 0
  }
  const config = loadConfig(env)
  const topic = values.topic ?? config.topics.events
  const group = values.group ?? config.processor.groupId
  const sql = createSql({ url: config.db.url, schema: config.db.schema, max: 1, name: 'stockflow-offsets' })
  const admin = createKafka(
    config.kafka,
    createLogger({ name: 'offsets', level: 'error', stderr: true }),
  ).admin()
  try {
    await admin.connect()
    const ranges = await logRanges(admin, topic)
    if (values['accept-reset']) {
      const only = values.partition === undefined ? undefined : Number(values.partition)
      const accepted = await acceptReset(sql, group, topic, ranges, only)
      console.error(
        accepted.length === 0
          ? `no halted partition of ${topic} for group ${group}; nothing changed`
          : `accepted the reset of ${topic} partition(s) ${accepted.join(', ')}: the processor resumes from the log's start`,
      )
    }
    const positions = await readPositions(sql, group, topic)
    const rows = offsetRows(
      new Map(positions.map((p) => [p.partition, p.next])),
      ranges,
      await openResets(sql, group, topic),
      new Map(positions.map((p) => [p.partition, p.readTo])),
    )
    if (values.json) out(JSON.stringify({ topic, group, partitions: rows }))
    else {
      out(`${topic} (group ${group})`)
      for (const r of rows) {
        out(
          `  partition ${r.partition}: ledger ${r.stored ?? '-'}, log ${r.logStart}..${r.logEnd}  ${r.state}`,
        )
      }
    }
    return rows.some((r) => r.state === 'halted') ? 2 : 0
  } finally {
    await admin.disconnect()
    await sql.end({ timeout: 5 })
  }
}
