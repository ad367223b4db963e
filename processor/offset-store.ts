// The ledger's own consumer offsets: Postgres, not Kafka, says how far each partition was applied, and
// remembers a fingerprint of the last record applied, so a recreated topic cannot pass for the old one.
import { createHash } from 'node:crypto'
import type { Sql, Tx } from '../lib/db.ts'

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

/** Every partition's stored next offset for one group and topic (operator tools, no lock). */
export async function readOffsets(sql: Sql, group: string, topic: string): Promise<Map<number, number>> {
  const rows =
    await sql`select partition, next_offset from ledger_offsets where group_id = ${group} and topic = ${topic}`
  return new Map(rows.map((r) => [r.partition as number, r.next_offset as number]))
}
