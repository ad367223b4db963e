// Operator tools against the real stack: tail decodes, redrive filters, dry-runs and stays idempotent.

import type { Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { selectionDigest, selectionSummary } from '../ledger/redrive.ts'
import type { RenewableProducer } from '../lib/kafka.ts'
import type { Encoder } from '../lib/registry.ts'
import { runRedrive } from '../ops/redrive.ts'
import { collectStats, runStats } from '../ops/stats.ts'
import { runTail } from '../ops/tail.ts'
import type { Processor } from '../processor/processor.ts'
import type { StockMovement } from '../schemas/contract.ts'
import { SOURCE_FILE_HEADER, SOURCE_LINE_HEADER } from '../schemas/headers.ts'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { connectProducer, encoders, setupTopics } from './support/kafka.ts'
import { movement, produceMovements, startProcessor } from './support/processor.ts'

describe('operator tools', () => {
  let ctx: TestContext
  let kafka: Kafka
  let producer: RenewableProducer
  let processor: Processor
  let enc: Encoder<StockMovement>
  const send = (ms: StockMovement[]) => produceMovements(producer, ctx.config.topics.events, enc, ms)
  const level = async (store: number, item: number) =>
    (
      await ctx.sql`select quantity from stock_levels where store_number = ${store} and item_number = ${item}`
    )[0]?.quantity
  const failedCount = async (store: number) =>
    (
      await ctx.sql`select count(*)::int as n from failed_movements where store_number = ${store} and redriven_at is null`
    )[0]?.n as number
  const sales = [movement('sale', 30, 1, 5), movement('sale', 30, 2, 5), movement('sale', 31, 1, 5)]

  beforeAll(async () => {
    ctx = await createTestContext('ops', { PROCESS_MAX_ATTEMPTS: '1', OUTBOX_POLL_MS: '50' })
    kafka = await setupTopics(ctx)
    producer = await connectProducer(kafka)
    enc = (await encoders(ctx)).movements
    processor = await startProcessor(ctx, producer)
    // Sent as the importer would, with the file and line each sale came from.
    await producer.send({
      topic: ctx.config.topics.events,
      acks: -1,
      messages: sales.map((m, i) => ({
        key: `${m.store_number}:${m.item_number}`,
        value: enc.encode(m),
        headers: { [SOURCE_FILE_HEADER]: 'stores.csv', [SOURCE_LINE_HEADER]: String(i + 2) },
      })),
    })
    await pollUntil(
      'three sales failed',
      async () => (await failedCount(30)) === 2 && (await failedCount(31)) === 1,
    )
  })
  afterAll(async () => {
    await processor.stop()
    await producer.disconnect()
    await ctx.close()
  })

  it('tail prints decoded messages as JSON lines, filtered by key', async () => {
    const lines: string[] = []
    expect(
      await runTail([ctx.config.topics.events, '--from-beginning', '--key', '30:2'], ctx.env, (l) =>
        lines.push(l),
      ),
    ).toBe(0)
    expect(lines).toHaveLength(1)
    const row = JSON.parse(lines[0]!)
    expect(row).toMatchObject({
      topic: ctx.config.topics.events,
      key: '30:2',
      value: { ...sales[1], occurred_at: new Date(sales[1]!.occurred_at).toISOString() },
    })
    expect(row.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    expect(row.offset).toMatch(/^\d+$/)
    expect(typeof row.partition).toBe('number')

    const raw: string[] = []
    await runTail([ctx.config.topics.events, '--from-beginning', '--key', '30:2', '--raw'], ctx.env, (l) =>
      raw.push(l),
    )
    expect(JSON.parse(raw[0]!)).toMatchObject({
      value: sales[1],
      timestamp: expect.stringMatching(/^\d{13}$/),
    })

    const said = vi.spyOn(console, 'error').mockImplementation(() => {})
    const none: string[] = []
    try {
      await runTail([ctx.config.topics.events, '--from-beginning', '--key', 'no:such'], ctx.env, (l) =>
        none.push(l),
      )
      expect(none).toEqual([])
      expect(said.mock.calls.map((c) => c[0])).toEqual([
        `no messages with key no:such on ${ctx.config.topics.events}`,
      ])
    } finally {
      said.mockRestore()
    }

    const errors: string[] = []
    await runTail([ctx.config.topics.errors, '--from-beginning', '--max', '2'], ctx.env, (l) =>
      errors.push(l),
    )
    expect(errors).toHaveLength(2)
    expect(errors.map((l) => JSON.parse(l).value.code)).toEqual(['UNKNOWN_ITEM', 'UNKNOWN_ITEM'])
  })

  it('redrive explains itself, and refuses to run without a filter unless --all is given', async () => {
    const help: string[] = []
    expect(await runRedrive(['--help'], ctx.env, (l) => help.push(l))).toBe(0)
    expect(help.join('\n')).toMatch(/^usage: stockflow redrive/)
    await expect(runRedrive([], ctx.env, () => {})).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining('No filter given'),
    })
    await expect(runRedrive(['--all', '--store', '3'], ctx.env, () => {})).rejects.toMatchObject({
      code: 'USAGE',
    })
    const all: string[] = []
    expect(await runRedrive(['--all', '--dry-run'], ctx.env, (l) => all.push(l))).toBe(0)
    expect(all.length).toBeGreaterThan(0)
  })

  it('redrive --dry-run lists what would be sent and sends nothing', async () => {
    const lines: string[] = []
    expect(await runRedrive(['--store', '30', '--dry-run'], ctx.env, (l) => lines.push(l))).toBe(0)
    expect(lines.map((l) => JSON.parse(l).transaction_id).sort()).toEqual(
      [sales[0]!.transaction_id, sales[1]!.transaction_id].sort(),
    )
    const [audit] = await ctx.sql`select filter, dry_run, count from redrives order by id desc limit 1`
    expect(audit).toEqual({ filter: { store: 30 }, dry_run: true, count: 2 })
    expect(await failedCount(30)).toBe(2)
  })

  it('redrive sends failed movements back once their cause is fixed, and twice applies nothing twice', async () => {
    await send([
      movement('incoming', 30, 1, 10),
      movement('incoming', 30, 2, 10),
      movement('incoming', 31, 1, 10),
    ])
    await pollUntil('stock booked', async () => (await level(30, 1)) === 10 && (await level(31, 1)) === 10)
    await runRedrive(['--store', '30', '--item', '1', '--code', 'UNKNOWN_ITEM'], ctx.env, () => {})
    await pollUntil('30:1 re-driven and applied', async () => (await level(30, 1)) === 5)
    expect(await level(30, 2)).toBe(10)
    expect(await failedCount(30)).toBe(1)
    // Provenance survives the re-drive: the journal names the original file and line, and the failure
    // stays on record, marked as re-driven.
    const [applied] = await ctx.sql`
      select source_file, source_line from stock_journal where transaction_id = ${sales[0]!.transaction_id}`
    expect(applied).toEqual({ source_file: 'stores.csv', source_line: 2 })
    const [kept] = await ctx.sql`
      select code, redriven_at is not null as redriven from failed_movements where transaction_id = ${sales[0]!.transaction_id}`
    expect(kept).toEqual({ code: 'UNKNOWN_ITEM', redriven: true })

    // Two re-drives in a row: whatever the timing, the sale is applied once.
    await runRedrive(['--store', '31'], ctx.env, () => {})
    await runRedrive(['--store', '31'], ctx.env, () => {})
    await pollUntil('31:1 applied', async () => (await level(31, 1)) === 5)
    await pollUntil('ledger caught up', async () =>
      (await collectStats(ctx.env)).lag[ctx.config.processor.groupId]!.every((p) => p.lag === 0),
    )
    expect(await level(31, 1)).toBe(5)
    const [j] =
      await ctx.sql`select count(*)::int as n from stock_journal where transaction_id = ${sales[2]!.transaction_id}`
    expect(j?.n).toBe(1)
    expect(await failedCount(31)).toBe(0)
  })

  it('stats reports stock, errors by code and lag', async () => {
    const s = await collectStats(ctx.env)
    expect(s.stock).toMatchObject({ items: 3, units: 5 + 10 + 5 })
    expect(s.errors_by_code).toEqual({ UNKNOWN_ITEM: 1 })
    expect(s.parked).toBe(0)
    expect(s.lag[ctx.config.processor.groupId]!.map((p) => p.topic)).toEqual(
      Array(ctx.config.topics.eventsPartitions).fill(ctx.config.topics.events),
    )

    const lines: string[] = []
    expect(await runStats(['--window', '2h'], ctx.env, (l) => lines.push(l))).toBe(0)
    const applied = (await ctx.sql`select count(*)::int as n from stock_journal`)[0]!.n
    expect(lines).toContain(
      `throughput  ${applied} events applied in the last 2h (${Math.round((applied / 7200) * 100) / 100}/s)`,
    )
    expect(lines.find((l) => l.startsWith('lag         '))).toContain(`${ctx.config.topics.events}/0=0`)
    await expect(runStats(['--window', 'soon'], ctx.env)).rejects.toMatchObject({ code: 'USAGE' })
  })

  it('re-drives a selection larger than one batch: every movement once, from one snapshot, audited', async () => {
    // 2,500 sales for items that never had stock: they fail at once (PROCESS_MAX_ATTEMPTS=1).
    const many = Array.from({ length: 2500 }, (_, i) => movement('sale', 70, 1 + (i % 50), 1))
    for (let i = 0; i < many.length; i += 500) await send(many.slice(i, i + 500))
    await pollUntil('2,500 sales failed', async () => (await failedCount(70)) === 2500, { timeoutMs: 60_000 })
    const listed: string[] = []
    expect(await runRedrive(['--store', '70', '--dry-run'], ctx.env, (l) => listed.push(l))).toBe(0)
    const ids = listed.map((l) => JSON.parse(l).transaction_id as string)
    expect(new Set(ids).size).toBe(2500)
    expect([...ids].sort()).toEqual(many.map((m) => m.transaction_id).sort())
    // The printed order is the send order, and the digest a console preview carries is over exactly it.
    expect(selectionDigest(ids.map((transaction_id) => ({ transaction_id })))).toBe(
      (await selectionSummary(ctx.sql, { store: 70 })).digest,
    )
    await send(Array.from({ length: 50 }, (_, i) => movement('incoming', 70, i + 1, 100)))
    await pollUntil('stock booked', async () => (await level(70, 50)) === 100)
    expect(await runRedrive(['--store', '70'], ctx.env, () => {})).toBe(0)
    await pollUntil(
      'all 2,500 applied',
      async () => {
        const [r] =
          await ctx.sql`select coalesce(sum(quantity), 0)::int as q from stock_levels where store_number = 70`
        return r?.q === 50 * 100 - 2500
      },
      { timeoutMs: 60_000 },
    )
    const [j] = await ctx.sql`
      select count(*)::int as n from stock_journal where transaction_id = any(${many.map((m) => m.transaction_id)}::uuid[])`
    expect(j?.n).toBe(2500)
    const [audit] = await ctx.sql`
      select dry_run, count, status, error, actor from redrives where filter = '{"store": 70}' and not dry_run`
    expect(audit).toEqual({
      dry_run: false,
      count: 2500,
      status: 'sent',
      error: null,
      actor: expect.stringMatching(/^cli:/),
    })
  })
})
