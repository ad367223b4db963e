// One Kafka batch (one partition) applied in one Postgres transaction, offsets included.
import { createHash } from 'node:crypto'
import type { Sql, Tx } from '../lib/db.ts'
import { AppError, classifyDbError, DecodeError, errorId } from '../lib/errors.ts'
import type { Decoder } from '../lib/registry.ts'
import type { StockError, StockMovement } from '../schemas/contract.ts'
import { REDRIVE_HEADER, SOURCE_FILE_HEADER, SOURCE_LINE_HEADER } from '../schemas/headers.ts'
import { applyMovements } from './apply-movements.ts'
import { keyOf, type OutboxMessage, type Received, type RetryPolicy, samePayload } from './ledger-model.ts'
import {
  bumpCounter,
  findExisting,
  loadParked,
  lockLevels,
  lockOffset,
  storeOffset,
  writeChanges,
  writeOutbox,
} from './ledger-store.ts'

export interface BatchMessage {
  offset: number
  key: Buffer | null
  value: Buffer | null
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>
}

export interface BatchDeps {
  sql: Sql
  decoder: Decoder<StockMovement>
  clock: () => number
  groupId: string
  topics: { errors: string; lowStock: string }
  policy: RetryPolicy
  lowStockDefault: number
}

export interface BatchStats {
  applied: number
  duplicates: number
  parked: number
  failed: number
  conflicts: number
  undecodable: number
  lowStock: number
  /** Messages skipped because the stored offset was already past them (redelivery after a rebalance). */
  skipped: number
}

/** The batch does not start where Postgres says this partition stands; the consumer must seek. */
export class OffsetGapError extends AppError {
  readonly expected: number
  constructor(topic: string, partition: number, expected: number, got: number) {
    super(
      'KAFKA_ERROR',
      `batch for ${topic}[${partition}] starts at ${got}, but the ledger stands at ${expected}`,
      {
        retriable: false,
        context: { topic, partition, expected, got },
      },
    )
    this.expected = expected
  }
}

const header = (h: BatchMessage['headers'], name: string): string | null => {
  const v = h?.[name]
  if (v === undefined) return null
  return (Array.isArray(v) ? v[0] : v)?.toString() ?? null
}

function processError(
  topics: BatchDeps['topics'],
  now: number,
  e: Partial<StockError> & Pick<StockError, 'error_id' | 'code' | 'message'>,
  key: string | null,
): OutboxMessage {
  const payload: StockError = {
    stage: 'process',
    source_file: null,
    source_line: null,
    raw_row: null,
    movement: null,
    raw_value_base64: null,
    topic: null,
    partition: null,
    offset: null,
    attempts: 1,
    attempted_at: [now],
    first_seen_at: now,
    failed_at: now,
    ...e,
  }
  return { topic: topics.errors, key, schema: 'StockError', payload }
}

type Decoded = { ok: true; received: Received } | { ok: false; msg: BatchMessage; err: DecodeError }

async function decodeAll(
  deps: BatchDeps,
  topic: string,
  partition: number,
  messages: BatchMessage[],
): Promise<Decoded[]> {
  const out: Decoded[] = []
  for (const msg of messages) {
    try {
      const movement = await deps.decoder.decode(msg.value)
      if (movement.event_type === 'UNKNOWN') {
        throw new DecodeError('UNDECODABLE', 'event_type is not one this processor knows (newer writer?)')
      }
      const line = header(msg.headers, SOURCE_LINE_HEADER)
      out.push({
        ok: true,
        received: {
          movement: movement as Received['movement'],
          sourceFile: header(msg.headers, SOURCE_FILE_HEADER),
          sourceLine: line === null ? null : Number(line),
          topic,
          partition,
          offset: msg.offset,
          redrive: header(msg.headers, REDRIVE_HEADER) !== null,
        },
      })
    } catch (err) {
      // Only a message that can never be decoded is a poison message; a registry outage is retried.
      if (!(err instanceof DecodeError)) throw err
      out.push({ ok: false, msg, err })
    }
  }
  return out
}

export async function applyBatch(
  deps: BatchDeps,
  topic: string,
  partition: number,
  messages: BatchMessage[],
): Promise<BatchStats> {
  const stats: BatchStats = {
    applied: 0,
    duplicates: 0,
    parked: 0,
    failed: 0,
    conflicts: 0,
    undecodable: 0,
    lowStock: 0,
    skipped: 0,
  }
  if (messages.length === 0) return stats
  const decoded = await decodeAll(deps, topic, partition, messages)
  const now = deps.clock()
  const last = messages[messages.length - 1]!.offset
  try {
    await deps.sql.begin(async (tx) => {
      const stored = await lockOffset(tx, deps.groupId, topic, partition)
      // The fence: a consumer that lost this partition finds the offset moved on and applies nothing twice.
      if (stored !== undefined && messages[0]!.offset > stored) {
        throw new OffsetGapError(topic, partition, stored, messages[0]!.offset)
      }
      const live = decoded.filter((d) => (d.ok ? d.received.offset : d.msg.offset) >= (stored ?? 0))
      stats.skipped = decoded.length - live.length
      if (live.length === 0) return

      const outbox: OutboxMessage[] = []
      for (const d of live) {
        if (d.ok) continue
        stats.undecodable++
        outbox.push(
          processError(
            deps.topics,
            now,
            {
              error_id: errorId('UNDECODABLE', topic, partition, d.msg.offset),
              code: 'UNDECODABLE',
              message: d.err.message,
              raw_value_base64: d.msg.value?.toString('base64') ?? null,
              topic,
              partition,
              offset: String(d.msg.offset),
            },
            d.msg.key?.toString() ?? null,
          ),
        )
      }

      // Identical redeliveries are dropped and counted; a changed payload under a known id is a conflict.
      const candidates = live.flatMap((d) => (d.ok ? [d.received] : []))
      const existing = await findExisting(tx, [...new Set(candidates.map((r) => r.movement.transaction_id))])
      const fresh: Received[] = []
      const unfailed: string[] = []
      const conflicts: { r: Received; first: StockMovement }[] = []
      for (const r of candidates) {
        const id = r.movement.transaction_id
        const prior = existing.get(id)
        const redriven = prior?.where === 'failed' && r.redrive && samePayload(prior.movement, r.movement)
        if (redriven) unfailed.push(id)
        if (!prior || redriven) {
          existing.set(id, { movement: r.movement, where: 'journal' })
          fresh.push(r)
        } else if (samePayload(prior.movement, r.movement)) stats.duplicates++
        else conflicts.push({ r, first: prior.movement })
      }
      outbox.push(...(await recordConflicts(tx, deps, conflicts, now)))
      stats.conflicts = conflicts.length

      const keys = uniqueKeys(fresh)
      const levels = await lockLevels(tx, keys, deps.lowStockDefault)
      const withIncoming = uniqueKeys(fresh.filter((r) => r.movement.event_type === 'incoming'))
      const parked = await loadParked(tx, withIncoming)
      const changes = applyMovements(fresh, { levels, parked, now, policy: deps.policy, topics: deps.topics })
      changes.unfailed.push(...unfailed)
      await writeChanges(tx, changes, levels)
      await writeOutbox(tx, outbox)
      await bumpCounter(tx, 'duplicates', stats.duplicates)
      await storeOffset(tx, deps.groupId, topic, partition, last + 1)
      stats.applied = changes.applied.length
      stats.parked = changes.parkedNew.length
      stats.failed = changes.failed.length
      stats.lowStock = changes.outbox.filter((o) => o.schema === 'LowStock').length
    })
  } catch (err) {
    if (err instanceof AppError) throw err
    const e = classifyDbError(err, { topic, partition, firstOffset: messages[0]!.offset })
    // Two partitions may race to insert one transaction id (with different keys); the retry sees the winner.
    if (e.context.sqlstate === '23505')
      throw new AppError(e.code, e.message, { retriable: true, cause: err, context: e.context })
    throw e
  }
  return stats
}

function uniqueKeys(rs: Received[]): { store: number; item: number }[] {
  const seen = new Map<string, { store: number; item: number }>()
  for (const r of rs) {
    const k = keyOf(r.movement.store_number, r.movement.item_number)
    if (!seen.has(k)) seen.set(k, { store: r.movement.store_number, item: r.movement.item_number })
  }
  return [...seen.values()].sort((a, b) => a.store - b.store || a.item - b.item)
}

async function recordConflicts(
  tx: Tx,
  deps: BatchDeps,
  conflicts: { r: Received; first: StockMovement }[],
  now: number,
): Promise<OutboxMessage[]> {
  const out: OutboxMessage[] = []
  for (const { r, first } of conflicts) {
    const m = r.movement
    const sha = createHash('sha256').update(JSON.stringify(m)).digest('hex')
    const inserted = await tx`
      insert into transaction_conflicts (transaction_id, payload_sha256, first_payload, conflicting_payload, topic, partition, "offset")
      values (${m.transaction_id}, ${sha}, ${tx.json(first as never)}, ${tx.json(m as never)}, ${r.topic}, ${r.partition}, ${r.offset})
      on conflict do nothing
      returning 1`
    // The same conflicting payload seen again (e.g. a re-imported file) is reported once.
    if (inserted.length === 0) continue
    out.push(
      processError(
        deps.topics,
        now,
        {
          error_id: errorId('TRANSACTION_CONFLICT', m.transaction_id, sha),
          code: 'TRANSACTION_CONFLICT',
          message: `transaction ${m.transaction_id} was already recorded with a different payload; the first one stands`,
          movement: m,
          source_file: r.sourceFile,
          source_line: r.sourceLine,
          topic: r.topic,
          partition: r.partition,
          offset: String(r.offset),
        },
        keyOf(m.store_number, m.item_number),
      ),
    )
  }
  return out
}
