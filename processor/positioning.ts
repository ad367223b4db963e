// Where a newly assigned partition starts. Postgres holds the truth of how far the ledger got; the
// broker holds what the log still has. Compared on every assignment, they tell the normal case from
// records lost to retention (reported, then skipped) and from a topic recreated below the ledger
// (the partition halts until an operator accepts the new topic: never a silent skip).
import type { Admin } from 'kafkajs'
import { lockOffset, openResetIncident, recordExpiredIncident, storeOffset } from '../ledger/offsets.ts'
import { decidePosition, type LogRange, logRanges, openResets, type Position } from '../ledger/positioning.ts'
import type { Sql, Tx } from '../lib/db.ts'
import { classifyDbError } from '../lib/errors.ts'
import { errorId, stockError } from '../schemas/payloads.ts'
import type { OutboxMessage } from './ledger-model.ts'
import { writeOutbox } from './ledger-store.ts'

export interface PositionDeps {
  sql: Sql
  admin: Admin
  groupId: string
  topics: { errors: string }
  clock: () => number
}

type IncidentDeps = Pick<PositionDeps, 'groupId' | 'topics' | 'clock'>

function incidentError(
  deps: IncidentDeps,
  kind: 'EVENTS_EXPIRED' | 'TOPIC_RESET',
  topic: string,
  partition: number,
  stored: number | undefined,
  log: LogRange,
  message: string,
): OutboxMessage {
  const now = deps.clock()
  const payload = stockError(
    {
      error_id: errorId(kind, deps.groupId, topic, partition, stored ?? 'none', log.start, log.end),
      stage: 'process',
      code: kind,
      message,
      topic,
      partition,
      offset: stored === undefined ? null : String(stored),
    },
    now,
  )
  return { topic: deps.topics.errors, key: `${topic}:${partition}`, schema: 'StockError', payload }
}

/**
 * Records records lost to retention below `log.start` (one incident, one error) and moves the stored
 * offset to the log's start, inside the caller's transaction. Also used when a gap shows up mid-run.
 */
export async function recordExpiry(
  tx: Tx,
  deps: IncidentDeps,
  topic: string,
  partition: number,
  stored: number | undefined,
  log: LogRange,
): Promise<void> {
  const from = stored ?? 0
  const lost = log.start - from
  // Offsets, not records: a transactional producer's commit markers take offsets too, so this is an upper bound.
  const message =
    `up to ${lost} record(s) of ${topic}[${partition}] (offsets ${from}..${log.start - 1}, transaction markers ` +
    'included) were removed by retention before they were applied; they are not in the ledger. Re-import their ' +
    'source files to recover them.'
  await recordExpiredIncident(tx, deps.groupId, topic, partition, stored, log)
  await writeOutbox(tx, [incidentError(deps, 'EVENTS_EXPIRED', topic, partition, stored, log, message)])
  await storeOffset(tx, deps.groupId, topic, partition, log.start)
}

/**
 * Decides and records one partition's start. An expiry is written in one transaction with the moved
 * offset, so it is reported exactly once; a halt is recorded once per open incident.
 */
export async function positionPartition(
  deps: PositionDeps,
  topic: string,
  partition: number,
  given: LogRange,
  /** The batch showed a different record at the ledger's last offset: halt whatever the offsets say. */
  changed = false,
): Promise<Position> {
  let log = given
  try {
    return await deps.sql.begin(async (tx) => {
      const stored = (await lockOffset(tx, deps.groupId, topic, partition))?.next
      // An open reset incident is the halt itself: only `stockflow offsets --accept-reset` ends it, even
      // once the recreated topic has grown past the old offset.
      if ((await openResets(tx, deps.groupId, topic)).has(partition))
        return { kind: 'halt', stored: stored ?? 0, log } satisfies Position
      let pos: Position = changed ? { kind: 'halt', stored: stored ?? 0, log } : decidePosition(stored, log)
      if (pos.kind === 'halt' && !changed) {
        // The range was read before the lock: meanwhile the partition's previous owner may have applied
        // records written after it was read. Read again now that no one can move the ledger's offset.
        const fresh = (await logRanges(deps.admin, topic)).get(partition)
        if (fresh) {
          log = fresh
          pos = decidePosition(stored, log)
        }
      }
      if (pos.kind === 'resume') return pos
      if (pos.kind === 'expired') {
        await recordExpiry(tx, deps, topic, partition, stored, log)
        return pos
      }
      if (await openResetIncident(tx, deps.groupId, topic, partition, pos.stored, log)) {
        const what = changed
          ? `${topic}[${partition}] holds a different record at offset ${pos.stored - 1} than the one the ledger applied`
          : `${topic}[${partition}] ends at offset ${log.end}, but the ledger has applied it up to ${pos.stored}`
        const message =
          `${what}: the topic was recreated or truncated. This partition is halted. If the new topic is right, run ` +
          `\`stockflow offsets --accept-reset --topic ${topic}\`; its records are then applied from offset ${log.start}.`
        await writeOutbox(tx, [
          incidentError(deps, 'TOPIC_RESET', topic, partition, pos.stored, log, message),
        ])
      }
      return pos
    })
  } catch (err) {
    throw classifyDbError(err, { op: 'position', topic, partition })
  }
}
