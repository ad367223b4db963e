// `stockflow revert` against the real stack: a file imported by the real importer and applied by the real
// processor is undone by reversals, its parked movement withdrawn, idempotently, and across a crash.
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRevertSender, reversalIdOf, revert } from '../ledger/revert.ts'
import type { RenewableProducer } from '../lib/kafka.ts'
import { runRevert } from '../ops/revert.ts'
import type { Processor } from '../processor/processor.ts'
import { createTestContext, pollUntil, sqlstateAs, sqlstateOf, type TestContext } from './support/context.ts'
import { type RunningImporter, startImporter } from './support/importer.ts'
import { connectProducer, encoders, setupTopics } from './support/kafka.ts'
import { startProcessor } from './support/processor.ts'

const HEADER = 'transaction_id,event_type,date,store_number,item_number,value,to_store_number,reverses'
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`

describe('stockflow revert', () => {
  let ctx: TestContext
  let inputDir: string
  let kafka: Kafka
  let producer: RenewableProducer
  let importer: RunningImporter
  let processor: Processor
  const stock = async (store: number, item: number) =>
    Number(
      (
        await ctx.sql`select quantity from stock_levels where store_number = ${store} and item_number = ${item}`
      )[0]?.quantity ?? 0,
    )
  const applied = async () =>
    Number((await ctx.sql`select count(*)::int as n from stock_journal where event_type = 'reversal'`)[0]!.n)
  const run = async (argv: string[]) => {
    const lines: string[] = []
    expect(await runRevert(argv, ctx.env, (l) => lines.push(l))).toBe(0)
    return lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  }

  beforeAll(async () => {
    inputDir = await mkdtemp(join(tmpdir(), 'stockflow-revert-'))
    ctx = await createTestContext('revert', {
      INPUT_DIR: inputDir,
      IMPORT_SETTLE_MS: '200',
      PROCESS_RETRY_SCHEDULE_MS: '60000',
      PROCESS_RETRY_POLL_MS: '50',
      OUTBOX_POLL_MS: '50',
    })
    kafka = await setupTopics(ctx)
    producer = await connectProducer(kafka)
    processor = await startProcessor(ctx, producer)
    importer = await startImporter(ctx)
  })
  afterAll(async () => {
    await importer.stop()
    await processor.stop()
    await producer.disconnect()
    await ctx.close()
    await rm(inputDir, { recursive: true, force: true })
  })

  it('previews, reverts every movement of a file once, withdraws its parked sale, and runs again to no effect', async () => {
    // Store 9 sells 5 of item 3 before the file: the file's incoming of 20 can give back only what is left.
    await writeFile(
      join(inputDir, 'before.csv'),
      `${HEADER}\n${id(1)},incoming,2024-01-01T00:00:00Z,9,3,6,,\n`,
    )
    await pollUntil('before applied', async () => (await stock(9, 3)) === 6)
    await writeFile(
      join(inputDir, 'wrong.csv'),
      [
        HEADER,
        `${id(10)},incoming,2024-01-02T00:00:00Z,1,1,20,,`,
        `${id(11)},sale,2024-01-02T01:00:00Z,1,1,5,,`,
        `${id(12)},transfer,2024-01-02T02:00:00Z,1,1,4,2,`,
        `${id(13)},adjustment,2024-01-02T03:00:00Z,1,1,10,,`,
        `${id(14)},sale,2024-01-02T04:00:00Z,1,2,7,,`,
        `${id(15)},incoming,2024-01-02T05:00:00Z,9,3,20,,`,
        '',
      ].join('\n'),
    )
    await pollUntil('file applied or parked', async () => {
      const [r] = await ctx.sql`
        select (select count(*) from stock_journal where source_digest is not null and leg = 1)::int as j,
               (select count(*) from parked_sales)::int as p`
      return r!.j === 6 && r!.p === 1
    })
    // Something sold after the file: 24 of item 3 at store 9 leaves 2, below the 20 to take back.
    await writeFile(join(inputDir, 'after.csv'), `${HEADER}\n${id(2)},sale,2024-01-03T00:00:00Z,9,3,24,,\n`)
    await pollUntil('after applied', async () => (await stock(9, 3)) === 2)

    const [preview, ...items] = await run(['wrong.csv', '--dry-run'])
    expect(preview).toMatchObject({
      file: 'wrong.csv',
      dry_run: true,
      rows_accepted: 6,
      to_reverse: 5,
      already_reversed: 0,
      to_withdraw: 1,
      would_go_below_zero: 1,
      published: 0,
      revert: null,
    })
    // 1:1 = 20 - 5 - 4 = 11, counted 10 (delta -1) -> 0; 2:1 got the transfer's 4 -> 0; 9:3 = 2, short of 20.
    // (The count is of the source, not of the destination: a count there could land before or after the
    // transfer's credit, which the source's partition applies.)
    // 9:3 is not listed: the reversal of its incoming would park, so the revert leaves it at 2.
    expect(items).toEqual([
      { store: 1, item: 1, now: 10, after: 0 },
      { store: 2, item: 1, now: 4, after: 0 },
    ])
    expect(await applied()).toBe(0)

    const [done] = await run(['wrong.csv'])
    expect(done).toMatchObject({ dry_run: false, to_reverse: 5, to_withdraw: 1, published: 6 })
    // Journal rows: the reversals of 10, 11 and 13, both legs of 12's, and 14's withdrawal (no change).
    await pollUntil('reversals applied', async () => (await applied()) === 6)
    expect([await stock(1, 1), await stock(2, 1), await stock(9, 3)]).toEqual([0, 0, 2])
    const [withdrawn] = await ctx.sql`select code from failed_movements where transaction_id = ${id(14)}`
    expect(withdrawn?.code).toBe('WITHDRAWN')
    // The reversal of the incoming at 9:3 waits for stock that is gone.
    const [waiting] =
      await ctx.sql`select reason from parked_sales where transaction_id = ${reversalIdOf(id(15))}`
    expect(waiting?.reason).toBe('INSUFFICIENT_STOCK')

    const [audit] = await ctx.sql`select actor, db_role, reversals_sent, finished_at from import_reverts`
    expect(audit).toMatchObject({ reversals_sent: 6 })
    expect(audit?.actor).toMatch(/^cli:/)
    expect(audit?.finished_at).not.toBeNull()
    const [history] = await ctx.sql`select reverted_at from import_history where file_name = 'wrong.csv'`
    expect(history?.reverted_at).not.toBeNull()

    const [again] = await run(['wrong.csv'])
    expect(again).toMatchObject({
      to_reverse: 0,
      to_withdraw: 0,
      already_reversed: 5,
      not_applied: 1,
      published: 0,
    })
    expect((await ctx.sql`select count(*)::int as n from transaction_conflicts`)[0]!.n).toBe(0)

    // The audit takes no counts that cannot be, no name the import did not have, and no finish by another role.
    const [{ sha256 }] =
      (await ctx.sql`select sha256 from import_history where file_name = 'wrong.csv'`) as unknown as [
        { sha256: string },
      ]
    const record = (file: string, counts: number[]) =>
      sqlstateOf(ctx.sql`select * from record_revert(${sha256}, ${file}, 'cli:test', ${counts[0]!}, ${counts[1]!},
                                                   ${counts[2]!}, ${counts[3]!}, ${counts[4]!})`)
    expect(await record('wrong.csv', [6, -1, 0, 0, 0])).toBe('22023')
    expect(await record('wrong.csv', [6, 7, 0, 0, 0])).toBe('22023')
    expect(await record('../../etc/passwd', [6, 0, 0, 0, 0])).toBe('22023')
    const [{ accepted }] = (await ctx.sql`
      select rows_accepted::int as accepted from import_history where file_name = 'wrong.csv'`) as unknown as [
      { accepted: number },
    ]
    expect(await record('wrong.csv', [accepted + 1, 0, 0, 0, 0])).toBe('22023')
    const [mine] =
      await ctx.sql`select revert_id from record_revert(${sha256}, 'wrong.csv', 'cli:test', 6, 0, 6, 0, 0)`
    expect(
      await sqlstateAs(ctx.sql, 'stockflow_web', (tx) => tx`select finish_revert(${mine!.revert_id})`),
    ).toBe('42501')
    expect(await sqlstateOf(ctx.sql`select finish_revert(${mine!.revert_id})`)).toBe('ok')
  })

  it('a revert cut short by a crash is run again, and its reversals are the same ones', async () => {
    await writeFile(
      join(inputDir, 'crash.csv'),
      [
        HEADER,
        ...Array.from(
          { length: 10 },
          (_, i) => `${id(100 + i)},incoming,2024-02-01T00:00:00Z,5,${i + 1},3,,`,
        ),
        '',
      ].join('\n'),
    )
    const journaled = async () =>
      Number((await ctx.sql`select count(*)::int as n from stock_journal where store_number = 5`)[0]!.n)
    await pollUntil('crash.csv applied', async () => (await journaled()) === 10)
    const enc = (await encoders(ctx)).movements
    const real = createRevertSender({ producer, encoder: enc, topic: ctx.config.topics.events })
    await expect(
      revert({
        sql: ctx.sql,
        selector: { file: 'crash.csv' },
        dryRun: false,
        actor: 'cli:test',
        send: async (file, reversals) => {
          await real(file, reversals.slice(0, 4))
          throw new Error('crashed after 4')
        },
      }),
    ).rejects.toThrow('crashed after 4')
    await pollUntil('four reversed', async () => (await journaled()) === 14)
    const second = await revert({
      sql: ctx.sql,
      selector: { file: 'crash.csv' },
      dryRun: false,
      actor: 'cli:test',
      send: real,
    })
    expect(second.counts).toMatchObject({ toReverse: 6, alreadyReversed: 4 })
    await pollUntil('all reversed', async () => (await journaled()) === 20)
    const dates = await ctx.sql`
      select distinct occurred_at from stock_journal where store_number = 5 and event_type = 'reversal'`
    expect(dates).toHaveLength(1)
    expect((await ctx.sql`select count(*)::int as n from transaction_conflicts`)[0]!.n).toBe(0)
    const runs = await ctx.sql`select finished_at from file_reverts where file_name = 'crash.csv' order by id`
    expect(runs.map((r) => r.finished_at === null)).toEqual([true, false])
  })

  it('imports the examples: corrections.csv after example.csv counts, moves and reverses', async () => {
    const examples = new URL('../examples/', import.meta.url)
    await copyFile(new URL('example.csv', examples), join(inputDir, 'example.csv'))
    await pollUntil('example applied', async () => (await stock(5, 12)) === 800)
    await copyFile(new URL('corrections.csv', examples), join(inputDir, 'corrections.csv'))
    await pollUntil('corrections applied', async () => (await stock(8, 27)) === 0)
    expect([await stock(5, 12), await stock(6, 12), await stock(8, 27)]).toEqual([680, 100, 0])
    const rows = await ctx.sql`
      select event_type, leg, store_number, delta, quantity_after from stock_journal
      where source_file = 'corrections.csv' order by store_number, entry_id`
    expect(
      rows.map((r) => [r.event_type, r.leg, r.store_number, Number(r.delta), Number(r.quantity_after)]),
    ).toEqual([
      ['adjustment', 1, 5, -20, 780],
      ['transfer', 1, 5, -100, 680],
      ['transfer', 2, 6, 100, 100],
      ['reversal', 1, 8, -400, 0],
    ])
  })

  it('refuses what it cannot name, with its own code', async () => {
    await expect(runRevert(['nothing.csv'], ctx.env, () => {})).rejects.toMatchObject({
      code: 'REVERT_NOT_FOUND',
    })
    await expect(runRevert([], ctx.env, () => {})).rejects.toMatchObject({ code: 'USAGE' })
    const help: string[] = []
    expect(await runRevert(['--help'], ctx.env, (l) => help.push(l))).toBe(0)
    expect(help.join('\n')).toMatch(/^usage: stockflow revert FILE/)
    await expect(runRevert(['--sha256', 'abc'], ctx.env, () => {})).rejects.toMatchObject({ code: 'USAGE' })
  })
})
