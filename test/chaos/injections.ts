// Inputs the CSV generator cannot make, written straight to `events` by the chaos run, each with its own
// ground truth: decodable-but-invalid messages, transactional writes (committed and aborted), one id
// reused across keys with different payloads, and a parked backlog larger than one retry pass.
// They use stores 9001-9004, which the generator never touches, so their truth stays separate.
import { randomUUID } from 'node:crypto'
import type { IHeaders, Kafka } from 'kafkajs'
import type { Sql } from '../../lib/db.ts'
import type { Encoder } from '../../lib/registry.ts'
import { movementKey, type StockMovement } from '../../schemas/contract.ts'
import { SOURCE_FILE_HEADER, SOURCE_LINE_HEADER } from '../../schemas/headers.ts'
import { givenUpSales } from './given-up.ts'

export interface InjectedTruth {
  /** Must end in the journal, once. */
  applied: Set<string>
  /** Must be nowhere: aborted transactional writes. */
  absent: Set<string>
  /** Ids sent twice with different payloads: exactly one copy lands (journal or failed), one is a conflict. */
  reused: Set<string>
  /** Decodable-but-invalid messages produced: each must be one INVALID_MOVEMENT row. */
  invalid: number
  stock: Map<string, number>
}

export function emptyInjected(): InjectedTruth {
  return { applied: new Set(), absent: new Set(), reused: new Set(), invalid: 0, stock: new Map() }
}

let clock = Date.UTC(2025, 0, 1)
function mv(type: 'incoming' | 'sale', store: number, item: number, quantity: number, id = randomUUID()) {
  clock += 1000
  return {
    transaction_id: id,
    event_type: type,
    occurred_at: clock,
    store_number: store,
    item_number: item,
    quantity,
  } satisfies StockMovement
}

export interface Injector {
  invalidMessages(): Promise<void>
  transactional(): Promise<void>
  reusedId(): Promise<void>
  parkedBacklog(): Promise<void>
  backlogStock(): Promise<void>
}

export function createInjector(
  kafka: Kafka,
  topic: string,
  enc: Encoder<StockMovement>,
  truth: InjectedTruth,
  backlog = { keys: 600, perKey: 10 },
): Injector {
  const addStock = (m: StockMovement) => {
    const k = movementKey(m.store_number, m.item_number)
    truth.stock.set(k, (truth.stock.get(k) ?? 0) + (m.event_type === 'incoming' ? m.quantity : -m.quantity))
  }
  const msg = (m: StockMovement, partition?: number, headers?: IHeaders) => ({
    key: movementKey(m.store_number, m.item_number),
    value: enc.encode(m),
    partition,
    headers,
  })
  async function send(messages: ReturnType<typeof msg>[]) {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 20 } })
    await producer.connect()
    try {
      for (let i = 0; i < messages.length; i += 1000) {
        await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 1000) })
      }
    } finally {
      await producer.disconnect()
    }
  }

  return {
    async invalidMessages() {
      const bad = [
        msg({ ...mv('incoming', 9001, 1, 5), transaction_id: 'not-a-uuid' }),
        msg(mv('incoming', 9001, 1, 0)),
        msg(mv('sale', 9001, 1, -3)),
        msg(mv('incoming', 9001, 1, 5), undefined, {
          [SOURCE_FILE_HEADER]: 'x.csv',
          [SOURCE_LINE_HEADER]: '1.5',
        }),
        msg(mv('incoming', 9001, 1, 5), undefined, { [SOURCE_FILE_HEADER]: 'x\u0000.csv' }),
      ]
      await send(bad)
      truth.invalid += bad.length
    },

    async transactional() {
      const tx = kafka.producer({
        transactionalId: `chaos-${randomUUID()}`,
        idempotent: true,
        maxInFlightRequests: 1,
      })
      await tx.connect()
      try {
        const committed = [1, 2, 3].map((i) => mv('incoming', 9002, i, 7))
        let t = await tx.transaction()
        await t.send({ topic, messages: committed.map((m) => msg(m, 0)) })
        await t.commit()
        for (const m of committed) {
          truth.applied.add(m.transaction_id)
          addStock(m)
        }
        const aborted = [1, 2, 3].map((i) => mv('incoming', 9002, i, 1000))
        t = await tx.transaction()
        await t.send({ topic, messages: aborted.map((m) => msg(m, 0)) })
        await t.abort()
        for (const m of aborted) truth.absent.add(m.transaction_id)
      } finally {
        await tx.disconnect()
      }
      // A plain record after the markers, so "caught up" (stored offset = high watermark) stays exact.
      const plain = mv('incoming', 9002, 4, 2)
      await send([msg(plain, 0)])
      truth.applied.add(plain.transaction_id)
      addStock(plain)
    },

    async reusedId() {
      // Two sales, one id, two keys on two partitions, neither ever stocked: one parks (and finally fails),
      // the other is a conflict. Before the claims table, the second overwrote the first in the parking lot.
      const first = mv('sale', 9003, 1, 4)
      const second = { ...mv('sale', 9003, 2, 9), transaction_id: first.transaction_id }
      await send([msg(first, 0), msg(second, 1)])
      truth.reused.add(first.transaction_id)
    },

    async parkedBacklog() {
      const sales: StockMovement[] = []
      for (let k = 1; k <= backlog.keys; k++)
        for (let i = 0; i < backlog.perKey; i++) sales.push(mv('sale', 9004, k, 1))
      await send(sales.map((m) => msg(m)))
      for (const m of sales) {
        truth.applied.add(m.transaction_id)
        addStock(m)
      }
    },

    async backlogStock() {
      const stock = Array.from({ length: backlog.keys }, (_, i) =>
        mv('incoming', 9004, i + 1, backlog.perKey),
      )
      await send(stock.map((m) => msg(m)))
      for (const m of stock) {
        truth.applied.add(m.transaction_id)
        addStock(m)
      }
    },
  }
}

/** Checks the injected truth against the ledger: every injected message accounted for exactly once. */
export async function checkInjected(sql: Sql, truth: InjectedTruth, maxAttempts: number) {
  const gaveUp = new Set((await givenUpSales(sql, truth.applied, maxAttempts)).map((g) => g.id))
  const ids = [...truth.applied, ...truth.absent, ...truth.reused]
  const where = async (table: string) =>
    new Set(
      (
        await sql`select transaction_id::text as id from ${sql(table)} where transaction_id = any(${ids}::uuid[])`
      ).map((r) => r.id as string),
    )
  const [journal, failed, parked, conflicts] = await Promise.all([
    where('stock_journal'),
    where('failed_movements'),
    where('parked_sales'),
    where('transaction_conflicts'),
  ])
  const [inv] = await sql`select count(*)::int as n from rejected_messages where code = 'INVALID_MOVEMENT'`
  const missing = [...truth.applied].filter((id) => !journal.has(id) && !gaveUp.has(id))
  const leaked = [...truth.absent].filter((id) => journal.has(id) || failed.has(id) || parked.has(id))
  const reusedWrong = [...truth.reused].filter(
    (id) =>
      Number(journal.has(id)) + Number(failed.has(id)) + Number(parked.has(id)) !== 1 || !conflicts.has(id),
  )
  return {
    ok: missing.length === 0 && leaked.length === 0 && reusedWrong.length === 0 && inv?.n === truth.invalid,
    applied_expected: truth.applied.size,
    applied_missing: missing.length,
    given_up_late_stock: gaveUp.size,
    aborted_leaked: leaked.length,
    reused_ids: truth.reused.size,
    reused_not_exactly_once: reusedWrong.length,
    invalid_produced: truth.invalid,
    invalid_recorded: inv?.n,
  }
}
