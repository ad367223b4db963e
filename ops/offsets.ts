// `stockflow offsets`: the ledger's offsets beside the log's range, per partition, and the one way to
// accept a recreated topic: `--accept-reset` moves the ledger to the new log's start and resolves the
// incident, after which the halted processor resumes by itself.
import { userInfo } from 'node:os'
import { parseArgs } from 'node:util'
import { loadConfig } from '../lib/config.ts'
import { createSql, type Sql } from '../lib/db.ts'
import { UsageError } from '../lib/errors.ts'
import { createKafka } from '../lib/kafka.ts'
import { createLogger } from '../lib/log.ts'
import { readOffsets, readToOffsets } from '../processor/offset-store.ts'
import { decidePosition, type LogRange, logRanges, openResets } from '../processor/positioning.ts'

const USAGE = `usage: stockflow offsets [--topic T] [--group G] [--accept-reset [--partition N]] [--json]

Lists, per partition, the offset the ledger has applied up to (Postgres) beside the log's start and end
(Kafka), and the state: ok, behind (records to apply), expired (records removed before they were applied)
or halted (the ledger is past the end of the log: the topic was recreated or truncated).

--accept-reset   for halted partitions only: accept the topic as it now is. The ledger's offset moves to the
                 log's start, the incident is marked resolved, and the processor resumes within
                 PROCESS_HALT_RECHECK_MS. Records already applied stay applied; a re-sent transaction id is
                 dropped as a duplicate by the journal.`

export interface OffsetRow {
  partition: number
  stored: number | null
  logStart: number
  logEnd: number
  state: 'ok' | 'behind' | 'expired' | 'halted'
}

/**
 * `readTo`: how far each partition was read, past the markers and aborted records after the last applied
 * record (see readPositions); a partition read to its log's end is not behind, whatever the ledger's offset.
 */
export function offsetRows(
  stored: Map<number, number>,
  ranges: Map<number, LogRange>,
  openResets: Set<number> = new Set(),
  readTo: Map<number, number> = new Map(),
): OffsetRow[] {
  return [...ranges]
    .sort(([a], [b]) => a - b)
    .map(([partition, log]) => {
      const s = stored.get(partition)
      const pos = decidePosition(s, log)
      const state =
        openResets.has(partition) || pos.kind === 'halt'
          ? 'halted'
          : pos.kind === 'expired'
            ? 'expired'
            : Math.max(s ?? 0, readTo.get(partition) ?? 0) < log.end
              ? 'behind'
              : 'ok'
      return { partition, stored: s ?? null, logStart: log.start, logEnd: log.end, state }
    })
}

/**
 * Moves halted partitions to their log's start and resolves their incidents, in one transaction. Halted
 * means an open TOPIC_RESET incident (the processor opened it), or offsets past the log's end (none yet).
 */
export async function acceptReset(
  sql: Sql,
  group: string,
  topic: string,
  ranges: Map<number, LogRange>,
  only?: number,
): Promise<number[]> {
  return sql.begin(async (tx) => {
    const rows = await tx`
      select partition, next_offset from consumer_offsets where group_id = ${group} and topic = ${topic} for update`
    const open = await openResets(tx, group, topic)
    const accepted: number[] = []
    for (const r of rows) {
      const partition = r.partition as number
      const log = ranges.get(partition)
      if (!log || (only !== undefined && partition !== only)) continue
      if (!open.has(partition) && decidePosition(r.next_offset as number, log).kind !== 'halt') continue
      await tx`
        update consumer_offsets set next_offset = ${log.start}, last_record_sha256 = null, updated_at = now()
        where group_id = ${group} and topic = ${topic} and partition = ${partition}`
      await tx`
        update offset_incidents set resolved_at = now(), resolved_by = ${`stockflow offsets --accept-reset (${userInfo().username})`}
        where group_id = ${group} and topic = ${topic} and partition = ${partition} and kind = 'TOPIC_RESET'
          and resolved_at is null`
      accepted.push(partition)
    }
    return accepted
  })
}

export async function runOffsets(
  argv: string[],
  env: NodeJS.ProcessEnv,
  out: (line: string) => void = console.log,
): Promise<number> {
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
  if (values.help) {
    out(USAGE)
    return 0
  }
  if (values.partition !== undefined && (!/^\d+$/.test(values.partition) || !values['accept-reset']))
    throw new UsageError('USAGE', `${USAGE}\n\n--partition takes a partition number, with --accept-reset`)
  const config = loadConfig(env)
  const topic = values.topic ?? config.topics.events
  const group = values.group ?? config.processor.groupId
  const sql = createSql({ url: config.db.url, schema: config.db.schema, max: 1, name: 'stockflow-offsets' })
  const admin = createKafka(config.kafka, createLogger({ name: 'offsets', level: 'error' })).admin()
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
    const rows = offsetRows(
      await readOffsets(sql, group, topic),
      ranges,
      await openResets(sql, group, topic),
      await readToOffsets(sql, group, topic),
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
