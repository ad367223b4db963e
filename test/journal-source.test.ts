// Whatever a source file is called, the journal row keeps it exactly, with every other column.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RenewableProducer } from '../lib/kafka.ts'
import type { Processor } from '../processor/processor.ts'
import { movementKey } from '../schemas/contract.ts'
import { SOURCE_FILE_HEADER, SOURCE_LINE_HEADER } from '../schemas/headers.ts'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { connectProducer, encoders, setupTopics } from './support/kafka.ts'
import { movement, startProcessor } from './support/processor.ts'

describe('journal provenance', () => {
  let ctx: TestContext
  let producer: RenewableProducer
  let processor: Processor

  beforeAll(async () => {
    ctx = await createTestContext('journal_source')
    producer = await connectProducer(await setupTopics(ctx))
    processor = await startProcessor(ctx, producer)
  })
  afterAll(async () => {
    await processor.stop()
    await producer.disconnect()
    await ctx.close()
  })

  it('keeps tabs, newlines, backslashes and a literal \\N in a source file name, and every column', async () => {
    const enc = (await encoders(ctx)).movements
    const names = ['tab\there.csv', 'new\nline\r.csv', 'back\\slash.csv', '\\N', 'März – ü.csv']
    const sent = names.map((name, i) => ({ name, line: i + 2, m: movement('incoming', 61, i + 1, 10 + i) }))
    await producer.send({
      topic: ctx.config.topics.events,
      acks: -1,
      messages: sent.map(({ name, line, m }) => ({
        key: movementKey(m.store_number, m.item_number),
        value: enc.encode(m),
        headers: { [SOURCE_FILE_HEADER]: name, [SOURCE_LINE_HEADER]: String(line) },
      })),
    })
    const rows = await pollUntil('all applied', async () => {
      const r = await ctx.sql`
        select transaction_id::text, event_type, occurred_at, store_number, item_number, quantity, attempts,
               source_file, source_line
        from stock_journal where store_number = 61 order by item_number`
      return r.length === names.length ? r : undefined
    })
    expect(rows).toEqual(
      sent.map(({ name, line, m }) => ({
        transaction_id: m.transaction_id,
        event_type: 'incoming',
        occurred_at: new Date(m.occurred_at),
        store_number: 61,
        item_number: m.item_number,
        quantity: m.quantity,
        attempts: 1,
        source_file: name,
        source_line: line,
      })),
    )
  })
})
