// The ledger's own consumer offsets and their incidents: Postgres, not Kafka, says how far each partition
// was applied, and remembers a fingerprint of the last record applied, so a recreated topic cannot pass for
// the old one. Every write to consumer_offsets and offset_incidents is here.
import { createHash } from 'node:crypto'
import { userInfo } from 'node:os'
import type { Sql, Tx } from '../lib/db.ts'
import { decidePosition, type LogRange, openResets } from './positioning.ts'

export interface StoredOffset {
  next: number
  /** Fingerprint of the record at next - 1, when the ledger applied it (recordSha). */
  lastSha: string | null
}

/** Locks this partition's offset row; undefined for a partition never seen. */
export async function lockOffset(
  tx: Tx,
  group: string,
  topic: string,
  partition: number,
): Promise<StoredOffset | undefined> {
  const rows = await tx`
    select next_offset, last_record_sha256 from consumer_offsets
    where group_id = ${group} and topic = ${topic} and partition = ${partition}
    for update`
  const r = rows[0]
  return r
    ? { next: r.next_offset as number, lastSha: (r.last_record_sha256 as string | null) ?? null }
    : undefined
}

/** Stores the next offset, with the fingerprint of the record just before it (null when there is none). */
export async function storeOffset(
  tx: Tx,
  group: string,
  topic: string,
  partition: number,
  next: number,
  lastSha: string | null = null,
): Promise<void> {
  await tx`
    insert into consumer_offsets (group_id, topic, partition, next_offset, last_record_sha256, updated_at)
    values (${group}, ${topic}, ${partition}, ${next}, ${lastSha}, now())
    on conflict (group_id, topic, partition) do update
      set next_offset = excluded.next_offset, last_record_sha256 = excluded.last_record_sha256, updated_at = now()`
}

/** A record's fingerprint: its timestamp, key and value. The same bytes at the same offset are the same record. */
export function recordSha(m: { timestamp?: string; key: Buffer | null; value: Buffer | null }): string {
  const h = createHash('sha256')
  h.update(`${m.timestamp ?? ''}\u0000${m.key?.length ?? -1}\u0000`)
  if (m.key) h.update(m.key)
  h.update(`\u0000${m.value?.length ?? -1}\u0000`)
  if (m.value) h.update(m.value)
  return h.digest('hex').slice(0, 32)
}

/** The stored next offset without a lock: a hint for work to do before the transaction. */
export async function peekOffset(
  sql: Sql,
  group: string,
  topic: string,
  partition: number,
): Promise<number | undefined> {
  const rows = await sql`
    select next_offset from consumer_offsets where group_id = ${group} and topic = ${topic} and partition = ${partition}`
  return rows[0]?.next_offset as number | undefined
}

/** How far each partition has been read (see readPositions): what lag is counted from. */
export async function readToOffsets(sql: Sql, group: string, topic: string): Promise<Map<number, number>> {
  return new Map((await readPositions(sql, group, topic)).map((p) => [p.partition, p.readTo]))
}

/**
 * Each partition's next offset, and how far the processor has read it: past the records it applied, over
 * the commit markers and aborted records after them, which no consumer is handed and none can apply.
 */
export async function readPositions(
  sql: Sql,
  group: string,
  topic: string,
): Promise<{ partition: number; next: number; readTo: number }[]> {
  const rows = await sql`
    select partition, next_offset, read_to from ledger_offsets where group_id = ${group} and topic = ${topic}`
  return rows.map((r) => ({
    partition: r.partition as number,
    next: r.next_offset as number,
    readTo: Math.max(r.next_offset as number, (r.read_to as number | null) ?? 0),
  }))
}

/**
 * Records that the offsets in [from, to) held nothing to apply (markers, aborted records). Only while
 * everything before `from` has been applied or read over already, so nothing applicable is ever passed
 * over; a later move of the ledger makes it moot, so it is safe to run late or twice.
 */
export async function markRead(
  sql: Sql,
  group: string,
  topic: string,
  partition: number,
  from: number,
  to: number,
): Promise<void> {
  await sql`
    update consumer_offsets set read_to = ${to}
    where group_id = ${group} and topic = ${topic} and partition = ${partition}
      and greatest(next_offset, coalesce(read_to, 0)) >= ${from}
      and greatest(next_offset, coalesce(read_to, 0)) < ${to}`
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
        update consumer_offsets set next_offset = ${log.start}, last_record_sha256 = null, read_to = null, updated_at = now()
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

/** Records that records below the log's start were lost to retention: an incident resolved at once. */
export async function recordExpiredIncident(
  tx: Tx,
  group: string,
  topic: string,
  partition: number,
  stored: number | undefined,
  log: LogRange,
): Promise<void> {
  await tx`
    insert into offset_incidents (group_id, topic, partition, kind, stored_offset, log_start, log_end, resolved_at, resolved_by)
    values (${group}, ${topic}, ${partition}, 'EVENTS_EXPIRED', ${stored ?? null}, ${log.start}, ${log.end}, now(), 'processor')`
}

/**
 * Opens a partition's TOPIC_RESET incident, the halt itself until an operator accepts it (acceptReset).
 * False when one is open already.
 */
export async function openResetIncident(
  tx: Tx,
  group: string,
  topic: string,
  partition: number,
  stored: number,
  log: LogRange,
): Promise<boolean> {
  const opened = await tx`
    insert into offset_incidents (group_id, topic, partition, kind, stored_offset, log_start, log_end)
    values (${group}, ${topic}, ${partition}, 'TOPIC_RESET', ${stored}, ${log.start}, ${log.end})
    on conflict (group_id, topic, partition, kind) where resolved_at is null do nothing
    returning id`
  return opened.length > 0
}
