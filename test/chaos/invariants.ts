// The chaos run's invariants, checked against the generator's and the injections' ground truth once the
// pipeline is quiescent.

import { createHash, randomBytes } from 'node:crypto'
import type { Kafka } from 'kafkajs'
import type { Config } from '../../lib/config.ts'
import type { Sql } from '../../lib/db.ts'
import { createDecoder, createRegistry } from '../../lib/registry.ts'
import type { StockError } from '../../schemas/contract.ts'
import { errorId } from '../../schemas/payloads.ts'
import type { GroundTruth } from './generate.ts'
import { givenUpSales, withGivenUp } from './given-up.ts'
import type { InjectedTruth } from './injections.ts'

export interface CheckDeps {
  sql: Sql
  kafka: Kafka
  config: Config
  injected: InjectedTruth
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function readErrors({ kafka, config }: CheckDeps): Promise<StockError[]> {
  const decoder = createDecoder<StockError>(createRegistry(config.registry), 'StockError')
  const admin = kafka.admin()
  await admin.connect()
  const total = (await admin.fetchTopicOffsets(config.topics.errors)).reduce((n, p) => n + Number(p.high), 0)
  await admin.disconnect()
  const out: StockError[] = []
  const consumer = kafka.consumer({ groupId: `chaos-check-${randomBytes(4).toString('hex')}` })
  await consumer.connect()
  await consumer.subscribe({ topic: config.topics.errors, fromBeginning: true })
  let seen = 0
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen++
      out.push(await decoder.decode(message.value))
    },
  })
  const deadline = Date.now() + 60_000
  while (seen < total && Date.now() < deadline) await sleep(200)
  await consumer.disconnect()
  return out
}

export async function checkInvariants(deps: CheckDeps, truth: GroundTruth, poisons: number) {
  const { sql, injected: injected_truth } = deps
  const journal = new Set(
    (await sql`select transaction_id::text as id from stock_journal`).map((r) => r.id as string),
  )
  const failed =
    await sql`select transaction_id::text as id, error_id, code from failed_movements where redriven_at is null`
  const errors = await readErrors(deps)
  const errorIds = new Set(errors.map((e) => e.error_id))
  const failedIds = new Set(failed.map((f) => f.id as string))
  const all = new Set([...truth.applied, ...injected_truth.applied])
  const givenUp = await givenUpSales(sql, all, deps.config.processor.maxAttempts)
  const gaveUp = new Set(givenUp.map((g) => g.id))
  const expected = new Set([...all].filter((id) => !gaveUp.has(id)))
  const givenUpUnreported = givenUp.filter((g) => !errorIds.has(g.errorId))
  const lost = [...truth.applied].filter((id) => !journal.has(id) && !gaveUp.has(id))
  // Injected ids have their own invariant; a reused id's surviving copy may land in the journal too.
  const c = truth.corrections
  const extra = [...journal].filter(
    (id) => !expected.has(id) && !injected_truth.reused.has(id) && !c.optional.has(id),
  )
  const failedCode = new Map(failed.map((f) => [f.id as string, f]))
  // Refused corrections fail with their own code, once, on `errors` too; never in the journal.
  const refusedWrong = [...c.refused].filter(([id, code]) => {
    const f = failedCode.get(id)
    return f?.code !== code || !errorIds.has(f.error_id) || journal.has(id)
  })
  // The reverted file's parked sale: withdrawn by the revert, or given up before it ran; never applied.
  const withdrawnWrong = [...c.withdrawable].filter(
    (id) => journal.has(id) || !['WITHDRAWN', 'UNKNOWN_ITEM'].includes(failedCode.get(id)?.code),
  )
  const both = [...failedIds].filter((id) => journal.has(id))
  const failMissing = [...truth.failing].filter(
    (id) => !failedIds.has(id) || !errorIds.has(failed.find((f) => f.id === id)!.error_id),
  )
  const sha = new Map(truth.files.map((f) => [f.name, createHash('sha256').update(f.content).digest('hex')]))
  const invalidMissing = truth.invalid.filter((r) => !errorIds.has(errorId(sha.get(r.file)!, r.line, r.code)))
  const levels =
    await sql`select store_number || ':' || item_number as k, quantity from stock_levels where last_transaction_id is not null`
  const actual = new Map(levels.map((l) => [l.k as string, l.quantity as number]))
  const want = withGivenUp(new Map([...truth.stock, ...injected_truth.stock]), givenUp)
  const stockDiff = [...new Set([...want.keys(), ...actual.keys()])].filter(
    (k) => (want.get(k) ?? 0) !== (actual.get(k) ?? 0),
  )
  const [neg] = await sql`select count(*)::int as n from stock_levels where quantity < 0`
  const lowDup =
    await sql`select payload->>'event_id' as id from outbox where schema_name = 'LowStock' group by 1 having count(*) > 1`
  const [unsent] = await sql`select count(*) filter (where parked_at is null)::int as n,
                                    count(*) filter (where parked_at is not null)::int as parked
                             from outbox where sent_at is null`
  const undecodable = new Set(errors.filter((e) => e.code === 'UNDECODABLE').map((e) => e.error_id)).size
  const invariants = {
    every_row_exactly_once: {
      ok:
        lost.length === 0 &&
        extra.length === 0 &&
        both.length === 0 &&
        failMissing.length === 0 &&
        invalidMissing.length === 0 &&
        givenUpUnreported.length === 0,
      applied: journal.size,
      expected_applied: truth.applied.size,
      given_up_late_stock: givenUp.length,
      given_up_unreported: givenUpUnreported.length,
      lost: lost.slice(0, 5),
      unexpected: extra.slice(0, 5),
      in_journal_and_failed: both.length,
      failed_expected: truth.failing.size,
      failed_missing: failMissing.length,
      invalid_expected: truth.invalid.length,
      invalid_missing: invalidMissing.length,
    },
    corrections_refused_and_withdrawn: {
      ok: refusedWrong.length === 0 && withdrawnWrong.length === 0,
      refused_expected: c.refused.size,
      refused_wrong: refusedWrong.slice(0, 5),
      withdrawable: c.withdrawable.size,
      withdrawn_wrong: withdrawnWrong,
    },
    running_balance_ends_at_stock: await runningBalance(sql),
    stock_matches_ground_truth: {
      ok: stockDiff.length === 0 && neg?.n === 0,
      items: want.size,
      mismatched: stockDiff.slice(0, 5),
      negative: neg?.n,
    },
    journal_count_equals_unique_valid: {
      // Less the reused ids' surviving copies and the optional ids (the withdrawn sale's reversal).
      ok:
        journal.size - [...injected_truth.reused, ...c.optional].filter((id) => journal.has(id)).length ===
        expected.size,
      journal: journal.size,
      unique_valid: expected.size,
    },
    one_low_stock_event_per_episode: { ok: lowDup.length === 0, duplicated: lowDup.length },
    outbox_drained: {
      ok: unsent?.n === 0 && unsent?.parked === 0,
      unsent: unsent?.n,
      set_aside: unsent?.parked,
    },
    poison_reported: { ok: undecodable === poisons, produced: poisons, reported: undecodable },
  }
  return { pass: Object.values(invariants).every((i) => i.ok), invariants }
}

/** Every item's last journal row (by apply order) says what its stock is: quantity_after never drifts. */
async function runningBalance(sql: Sql) {
  const [r] = await sql`
    select count(*)::int as items,
           count(*) filter (where l.quantity <> j.quantity_after)::int as drifted
    from stock_levels l
    join lateral (select quantity_after from stock_journal j
                  where j.store_number = l.store_number and j.item_number = l.item_number
                  order by entry_id desc limit 1) j on true`
  return { ok: r?.drifted === 0, items: r?.items, drifted: r?.drifted }
}
