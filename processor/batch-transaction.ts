// One Kafka batch (one partition) applied in one Postgres transaction, offsets included.

import { lockOffset, peekOffset, recordSha, storeOffset } from '../ledger/offsets.ts'
import type { LogRange } from '../ledger/positioning.ts'
import type { Sql, Tx } from '../lib/db.ts'
import { AppError, classifyDbError, DecodeError, TopicChangedError } from '../lib/errors.ts'
import type { Decoder } from '../lib/registry.ts'
import type { StockMovement } from '../schemas/contract.ts'
import {
  FILE_SHA256_HEADER,
  REDRIVE_HEADER,
  SOURCE_FILE_HEADER,
  SOURCE_LINE_HEADER,
} from '../schemas/headers.ts'
import { checkMovement, parseProvenance } from '../schemas/movement-rules.ts'
import {
  lockOrder,
  type Original,
  type OutboxMessage,
  type Parked,
  type Received,
  type RetryPolicy,
} from './ledger-model.ts'
import {
  bumpCounter,
  claimIds,
  findExisting,
  loadParked,
  lockLevels,
  parkedReach,
  writeChanges,
  writeOutbox,
  writeRejected,
} from './ledger-store.ts'
import {
  type Conflict,
  classify,
  conflictError,
  conflictSha,
  fileDigest,
  type Intake,
  idsToClaim,
  itemsReached,
  itemsReleasing,
  itemsTouched,
  type PlanContext,
  rejectMessage,
  reversalTargets,
  triage,
} from './plan-batch.ts'
import { applyMovements } from './plan-movements.ts'
import { recordExpiry } from './positioning.ts'
import { loadOriginals, loadReversedBy } from './reversal-store.ts'

export interface BatchMessage {
  offset: number
  /** The record's timestamp as kafkajs gives it; part of its fingerprint. */
  timestamp?: string
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
  /** The partition's log range, asked only when a batch starts past the stored offset. */
  logRange?: (topic: string, partition: number) => Promise<LogRange>
}

export interface BatchStats {
  applied: number
  duplicates: number
  parked: number
  failed: number
  conflicts: number
  undecodable: number
  /** Decoded, but not a valid movement (INVALID_MOVEMENT), or refused by Postgres (APPLY_REFUSED). */
  invalid: number
  lowStock: number
  /** Messages skipped because the stored offset was already past them (redelivery after a rebalance). */
  skipped: number
  /** 1 when the batch held the last applied record and its fingerprint matched: the log is the same log. */
  verified: number
}

const header = (h: BatchMessage['headers'], name: string): string | null => {
  const v = h?.[name]
  if (v === undefined) return null
  return (Array.isArray(v) ? v[0] : v)?.toString() ?? null
}

export function emptyStats(): BatchStats {
  return {
    applied: 0,
    duplicates: 0,
    parked: 0,
    failed: 0,
    conflicts: 0,
    undecodable: 0,
    invalid: 0,
    lowStock: 0,
    skipped: 0,
    verified: 0,
  }
}

const rejected = (msg: BatchMessage, code: 'UNDECODABLE' | 'INVALID_MOVEMENT', reason: string): Intake => ({
  kind: 'rejected',
  offset: msg.offset,
  key: msg.key?.toString() ?? null,
  value: msg.value,
  code,
  reason,
})

/**
 * A header's text, decoded once per run of messages that carry the same bytes: every message of a file
 * names that file, and one string for the run is one allocation instead of thousands.
 */
function repeatedHeader(name: string): (h: BatchMessage['headers']) => string | null {
  let lastBytes: Buffer | undefined
  let lastText: string | null = null
  return (h) => {
    const v = h?.[name]
    if (!Buffer.isBuffer(v)) return header(h, name)
    if (lastBytes === undefined || !v.equals(lastBytes)) {
      lastBytes = v
      lastText = v.toString()
    }
    return lastText
  }
}

/** A file's sha256 header as the journal keeps it, its first 64 bits; computed once per run of one file. */
function repeatedDigest(
  sha: (h: BatchMessage['headers']) => string | null,
): (h: BatchMessage['headers']) => string | null {
  let last: string | null = null
  let digest: string | null = null
  return (h) => {
    const text = sha(h)
    if (text !== last) {
      last = text
      digest = fileDigest(text)
    }
    return digest
  }
}

/**
 * Decodes and validates each message. Only a registry outage throws (retriable); anything else is an Intake.
 * Runs for every message the processor sees, so it allocates little: the decoded object is kept, not copied.
 */
async function intake(
  deps: BatchDeps,
  topic: string,
  partition: number,
  messages: BatchMessage[],
): Promise<Intake[]> {
  const out: Intake[] = []
  const sourceFile = repeatedHeader(SOURCE_FILE_HEADER)
  const sourceDigest = repeatedDigest(repeatedHeader(FILE_SHA256_HEADER))
  for (const msg of messages) {
    let movement: StockMovement
    try {
      const decoded = deps.decoder.decode(msg.value)
      movement = decoded instanceof Promise ? await decoded : decoded
    } catch (err) {
      // Only a message that can never be decoded is a poison message; a registry outage is retried.
      if (!(err instanceof DecodeError)) throw err
      out.push(rejected(msg, 'UNDECODABLE', err.message))
      continue
    }
    if (movement.event_type === 'UNKNOWN') {
      out.push(rejected(msg, 'UNDECODABLE', 'event_type is not one this processor knows (newer writer?)'))
      continue
    }
    const problem = checkMovement(movement)
    const provenance = parseProvenance(sourceFile(msg.headers), header(msg.headers, SOURCE_LINE_HEADER))
    if (problem || !provenance.ok) {
      const p = problem ?? (provenance as { ok: false; problem: { code: string; message: string } }).problem
      out.push(rejected(msg, 'INVALID_MOVEMENT', `${p.code}: ${p.message}`))
      continue
    }
    // Postgres hands uuids back in lower case; one spelling keeps the claims and lookups exact.
    movement.transaction_id = movement.transaction_id.toLowerCase()
    if (movement.reverses) movement.reverses = movement.reverses.toLowerCase()
    out.push({
      kind: 'movement',
      offset: msg.offset,
      received: {
        movement: movement as Received['movement'],
        sourceFile: provenance.value.sourceFile,
        sourceDigest: sourceDigest(msg.headers),
        sourceLine: provenance.value.sourceLine,
        topic,
        partition,
        offset: msg.offset,
        redrive: header(msg.headers, REDRIVE_HEADER) !== null,
      },
    })
  }
  return out
}

/**
 * Applies one partition's messages in one transaction: lock the offset, sort the messages (fence,
 * rejections), claim the ids, classify them, lock and change the levels, write it all with the next offset.
 * A batch may start past the stored offset: offsets have gaps (transaction markers, compaction).
 */
export async function applyBatch(
  deps: BatchDeps,
  topic: string,
  partition: number,
  messages: BatchMessage[],
  /** The caller knows the batch continues the one it applied last: no gap, so no need to look for one. */
  continues = false,
): Promise<BatchStats> {
  const stats = emptyStats()
  if (messages.length === 0) return stats
  const decoded = await intake(deps, topic, partition, messages)
  const ctx: PlanContext = { topic, partition, now: deps.clock(), topics: deps.topics }
  const lastMsg = messages[messages.length - 1]!
  const first = messages[0]!.offset
  // A gap is normal (transaction markers), unless retention removed records below the log's start while we
  // ran (kafkajs then resets to the earliest offset by itself). The broker is asked before the transaction,
  // so no network call happens while the offset row is locked; only a batch that may not continue the last
  // one looks, and only one past the ledger asks.
  const before =
    continues || !deps.logRange ? undefined : await peekOffset(deps.sql, deps.groupId, topic, partition)
  const log = before !== undefined && first > before ? await deps.logRange!(topic, partition) : undefined
  try {
    await deps.sql.begin(async (tx) => {
      const row = await lockOffset(tx, deps.groupId, topic, partition)
      const stored = row?.next
      const probe = row ? messages.find((m) => m.offset === row.next - 1) : undefined
      if (probe) {
        const sha = recordSha(probe)
        if (row?.lastSha && sha !== row.lastSha) {
          throw new TopicChangedError(
            'TOPIC_CHANGED',
            `${topic}[${partition}] holds a different record at offset ${probe.offset} than the one the ledger applied`,
            { context: { topic, partition, offset: probe.offset } },
          )
        }
        // A ledger from before fingerprints (or after an expiry) learns the one it can now see.
        if (!row?.lastSha) await storeOffset(tx, deps.groupId, topic, partition, row!.next, sha)
        stats.verified = 1
      }
      if (stored !== undefined && log && first > stored && log.start > stored) {
        await recordExpiry(tx, deps, topic, partition, stored, log)
      }
      const t = triage(decoded, stored, ctx)
      stats.skipped = t.skipped
      if (t.skipped === decoded.length) return
      for (const r of t.rejected) stats[r.code === 'UNDECODABLE' ? 'undecodable' : 'invalid']++

      const claimed = await claimIds(tx, idsToClaim(t.candidates))
      const others = t.candidates.map((r) => r.movement.transaction_id).filter((id) => !claimed.has(id))
      const c = classify(t.candidates, claimed, await findExisting(tx, [...new Set(others)]))
      const outbox = [...t.outbox, ...(await recordConflicts(tx, c.conflicts, ctx))]

      // A reversal's original is immutable once journaled, so it is read before the locks: its stores are
      // among the items to lock, as are those of the parked transfers and reversals this batch may release.
      // Who has reversed an original is read after the locks.
      const releasing = lockOrder(itemsReleasing(c.fresh))
      const reach = await parkedReach(tx, releasing)
      const targets = [
        ...new Set([...reversalTargets(c.fresh), ...reach.flatMap((p) => (p.reverses ? [p.reverses] : []))]),
      ]
      const originals = targets.length > 0 ? await loadOriginals(tx, targets) : undefined
      const items = [...itemsTouched(c.fresh, originals), ...itemsReached(reach, originals)]
      const levels = await lockLevels(tx, lockOrder(items), deps.lowStockDefault)
      const parked = await loadParked(tx, releasing)
      const changes = applyMovements(c.fresh, {
        levels,
        parked,
        now: ctx.now,
        policy: deps.policy,
        topics: deps.topics,
        ...(await reversalState(tx, originals, parked)),
      })
      changes.unfailed.push(...c.unfailed)

      await writeChanges(tx, changes, levels)
      await writeRejected(tx, t.rejected)
      await writeOutbox(tx, outbox)
      await bumpCounter(tx, 'duplicates', c.duplicates)
      await storeOffset(tx, deps.groupId, topic, partition, lastMsg.offset + 1, recordSha(lastMsg))
      Object.assign(stats, {
        duplicates: c.duplicates,
        conflicts: c.conflicts.length,
        applied: changes.applied.length,
        parked: changes.parkedNew.length,
        failed: changes.failed.length,
        lowStock: changes.outbox.filter((o) => o.schema === 'LowStock').length,
      })
    })
  } catch (err) {
    if (err instanceof AppError) throw err
    throw classifyDbError(err, { topic, partition, firstOffset: messages[0]!.offset })
  }
  return stats
}

/**
 * The last line of defence: one message Postgres refused goes to `errors` as APPLY_REFUSED and the
 * partition moves past it. Nothing of the message itself is written but its bytes, base64, so this
 * cannot be refused in turn.
 */
export async function refuseMessage(
  deps: BatchDeps,
  topic: string,
  partition: number,
  msg: BatchMessage,
  cause: Error,
): Promise<BatchStats> {
  const stats = emptyStats()
  const ctx: PlanContext = { topic, partition, now: deps.clock(), topics: deps.topics }
  try {
    await deps.sql.begin(async (tx) => {
      const stored = (await lockOffset(tx, deps.groupId, topic, partition))?.next
      if (stored !== undefined && msg.offset < stored) {
        stats.skipped = 1
        return
      }
      const { row, error } = rejectMessage(ctx, {
        offset: msg.offset,
        key: msg.key?.toString() ?? null,
        value: msg.value,
        code: 'APPLY_REFUSED',
        reason: `Postgres refused this message: ${cause.message}`,
      })
      await writeRejected(tx, [row])
      await writeOutbox(tx, [error])
      await storeOffset(tx, deps.groupId, topic, partition, msg.offset + 1, recordSha(msg))
      stats.invalid = 1
    })
  } catch (err) {
    throw classifyDbError(err, { topic, partition, offset: msg.offset })
  }
  return stats
}

/**
 * The reversal state of a plan: the originals of every reversal in play, the batch's and the parked ones it
 * may release, and who reversed them. Nothing when no reversal is in play, which keeps the common batch lean.
 */
async function reversalState(
  tx: Tx,
  originals: Map<string, Original | null> | undefined,
  parked: Map<string, Parked[]>,
): Promise<{ originals?: Map<string, Original | null>; reversedBy?: Map<string, string> }> {
  const waiting = reversalTargets([...parked.values()].flat()).filter((id) => !originals?.has(id))
  if (!originals && waiting.length === 0) return {}
  const all = new Map([...(originals ?? []), ...(await loadOriginals(tx, waiting))])
  return { originals: all, reversedBy: await loadReversedBy(tx, [...all.keys()]) }
}

/** Records each conflict once; only a conflict not recorded before is reported on `errors`. */
async function recordConflicts(tx: Tx, conflicts: Conflict[], ctx: PlanContext): Promise<OutboxMessage[]> {
  const out: OutboxMessage[] = []
  for (const c of conflicts) {
    const m = c.received.movement
    const sha = conflictSha(m)
    const inserted = await tx`
      insert into transaction_conflicts (transaction_id, payload_sha256, first_payload, conflicting_payload, topic, partition, "offset")
      values (${m.transaction_id}, ${sha}, ${tx.json(c.first as never)}, ${tx.json(m as never)}, ${c.received.topic},
              ${c.received.partition}, ${c.received.offset})
      on conflict do nothing
      returning 1`
    if (inserted.length > 0) out.push(conflictError(c, sha, ctx))
  }
  return out
}
