// The partition offsets' pure decisions and read queries, shared by the processor, `stockflow offsets` and
// the console: where a partition starts, given how far the ledger got and what the log still has.
import type { Admin } from 'kafkajs'
import type { Tx } from '../lib/db.ts'

export interface LogRange {
  /** The first offset the log still has. */
  start: number
  /** The offset the next record will get (high watermark). */
  end: number
}

export type Position =
  | { kind: 'resume'; offset: number }
  | { kind: 'expired'; stored: number | undefined; offset: number; lost: number }
  | { kind: 'halt'; stored: number; log: LogRange }

/** Pure: where to start, given the stored offset (undefined for a partition never applied) and the log. */
export function decidePosition(stored: number | undefined, log: LogRange): Position {
  const from = stored ?? 0
  if (from > log.end) return { kind: 'halt', stored: from, log }
  if (from < log.start) return { kind: 'expired', stored, offset: log.start, lost: log.start - from }
  return { kind: 'resume', offset: from }
}

export async function logRanges(admin: Admin, topic: string): Promise<Map<number, LogRange>> {
  const offsets = await admin.fetchTopicOffsets(topic)
  return new Map(offsets.map((o) => [o.partition, { start: Number(o.low), end: Number(o.high) }]))
}

/** Partitions of `topic` with an open TOPIC_RESET incident: the halt state, until an operator accepts it. */
export async function openResets(tx: Tx, group: string, topic: string): Promise<Set<number>> {
  const rows = await tx`
    select partition from offset_incidents
    where group_id = ${group} and topic = ${topic} and kind = 'TOPIC_RESET' and resolved_at is null`
  return new Set(rows.map((r) => r.partition as number))
}

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
