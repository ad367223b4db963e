// The alerter against the real broker, registry and Postgres, with a local HTTP receiver as webhook.
import type { Kafka, Producer } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Alerter } from '../alerter/alerter.ts'
import { createEncoder, createRegistry, type Encoder } from '../lib/registry.ts'
import type { LowStock, StockError } from '../schemas/contract.ts'
import { startAlerter } from './support/alerter.ts'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { connectProducer, setupTopics } from './support/kafka.ts'
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook.ts'

interface Received {
  status: number
  body: { text: string; kind: string; key: string; count: number; alert_id: string }
}

function importError(file: string, line: number): StockError {
  return {
    error_id: `${file}-${line}`,
    stage: 'import',
    code: 'INVALID_QUANTITY',
    message: `value 'x${line}' is not a whole number`,
    source_file: file,
    source_line: line,
    raw_row: `id,sale,2020-01-01T00:00:00Z,1,1,x${line}`,
    movement: null,
    raw_value_base64: null,
    topic: null,
    partition: null,
    offset: null,
    attempts: 0,
    attempted_at: [],
    first_seen_at: 1,
    failed_at: 1,
  }
}

function lowStock(episode: number): LowStock {
  return {
    event_id: `7:1:${episode}:LOW`,
    episode,
    severity: 'LOW',
    store_number: 7,
    item_number: 1,
    quantity: 3,
    threshold: 10,
    transaction_id: '00000000-0000-4000-8000-000000000001',
    occurred_at: 1,
    detected_at: 1,
  }
}

describe('alerter', () => {
  let ctx: TestContext
  let kafka: Kafka
  let producer: Producer
  let alerter: Alerter
  let receiver: WebhookReceiver
  let errors: Encoder<StockError>
  let lows: Encoder<LowStock>
  const received: Received[] = []
  let failNext = 0

  beforeAll(async () => {
    receiver = await startWebhookReceiver((body) => {
      const status = failNext > 0 ? 500 : 200
      if (failNext > 0) failNext--
      received.push({ status, body: body as Received['body'] })
      return status
    })
    ctx = await createTestContext('alerter', {
      ALERT_DIGEST_WINDOW_MS: '400',
      ALERT_THROTTLE_MS: '60000',
      ALERT_WEBHOOK_RETRY_MS: '100',
      ALERT_WEBHOOK_URL: receiver.url,
    })
    kafka = await setupTopics(ctx)
    producer = await connectProducer(kafka)
    const registry = createRegistry(ctx.config.registry)
    errors = await createEncoder(registry, ctx.config.registry, ctx.config.topics.errors, 'StockError')
    lows = await createEncoder(registry, ctx.config.registry, ctx.config.topics.lowStock, 'LowStock')
    alerter = await startAlerter(ctx, kafka)
  })
  afterAll(async () => {
    await alerter.stop()
    await producer.disconnect()
    await receiver.close()
    await ctx.close()
  })

  const sendErrors = (es: StockError[]) =>
    producer.send({
      topic: ctx.config.topics.errors,
      acks: -1,
      messages: es.map((e) => ({ key: e.source_file, value: errors.encode(e) })),
    })
  const sendLow = (ls: LowStock[]) =>
    producer.send({
      topic: ctx.config.topics.lowStock,
      acks: -1,
      messages: ls.map((l) => ({ key: '7:1', value: lows.encode(l) })),
    })
  const delivered = (pred: (r: Received) => boolean) => received.filter((r) => r.status === 200 && pred(r))

  it('turns a burst of 500 rejected rows from one file into one digest, and drops redeliveries', async () => {
    const burst = Array.from({ length: 500 }, (_, i) => importError('bad.csv', i + 2))
    await sendErrors(burst)
    await sendErrors(burst.slice(0, 50))
    await pollUntil(
      'digest delivered',
      async () => delivered((r) => r.body.key.startsWith('import:bad.csv')).length === 1,
    )
    const [digest] = delivered((r) => r.body.key.startsWith('import:bad.csv'))
    expect(digest!.body.count).toBe(500)
    expect(digest!.body.text).toContain('Fix them in processed/bad.csv.rejected.csv')
    expect(digest!.body.text).toContain(
      '500 rows rejected from file bad.csv (INVALID_QUANTITY=500); first lines: line 2 INVALID_QUANTITY:',
    )
    // The receiver answers before the alerter records the delivery; wait for the record.
    const rows = await pollUntil('alert marked sent', async () => {
      const r = await ctx.sql`select status, item_count from alerts where alert_key = 'import:bad.csv'`
      return r[0]?.status === 'sent' ? r : undefined
    })
    expect(rows.map((r) => [r.status, r.item_count])).toEqual([['sent', 500]])
  })

  it('calls the webhook once per low-stock window and retries it after 500s', async () => {
    // No processor here: the ledger has no row for the item, so each event is taken at its word.
    failNext = 2
    await sendLow([lowStock(1), lowStock(1)])
    await pollUntil(
      'episode 1 delivered',
      async () => delivered((r) => r.body.key === 'low-stock').length === 1,
    )
    const tries = received.filter((r) => r.body.key === 'low-stock')
    expect(tries.map((t) => t.status)).toEqual([500, 500, 200])
    expect(tries[2]!.body.text).toBe(':warning: stockflow: store 7 item 1 is low: 3 left (threshold 10)')
    expect(tries[2]!.body.count).toBe(1)
    const [row] = await pollUntil('delivery recorded', async () => {
      const r =
        await ctx.sql`select status, attempts from alerts where 'low-stock:7:1:1:LOW' = any(source_ids)`
      return r[0]?.status === 'sent' ? r : undefined
    })
    expect(row).toEqual({ status: 'sent', attempts: 3 })

    // A later episode is a later window's alert, never throttled as a repeat of the key.
    await sendLow([lowStock(2)])
    await pollUntil(
      'episode 2 delivered',
      async () => delivered((r) => r.body.key === 'low-stock').length === 2,
    )
    const rows = await pollUntil('both recorded as sent', async () => {
      const r =
        await ctx.sql`select status, source_ids from alerts where alert_key = 'low-stock' order by created_at`
      return r.length === 2 && r.every((a) => a.status === 'sent') ? r : undefined
    })
    expect(rows.map((r) => r.source_ids)).toEqual([['low-stock:7:1:1:LOW'], ['low-stock:7:1:2:LOW']])
  })

  it('an alert for a single rejected row names its file and code', async () => {
    await sendErrors([importError('single.csv', 7)])
    await pollUntil(
      'alert delivered',
      async () => delivered((r) => r.body.key === 'import:single.csv').length === 1,
    )
    const [alert] = delivered((r) => r.body.key === 'import:single.csv')
    expect(alert!.body.count).toBe(1)
    expect(alert!.body.text).toBe(
      ":warning: stockflow: 1 row rejected from file single.csv (INVALID_QUANTITY): line 7 INVALID_QUANTITY: value 'x7' " +
        'is not a whole number. Fix it in processed/single.csv.rejected.csv and drop it into the input folder again.',
    )
  })

  it('sends one digest for a file whose four bad rows have three codes', async () => {
    await sendErrors([
      importError('mixed.csv', 2),
      { ...importError('mixed.csv', 3), error_id: 'mixed-3', code: 'INVALID_UUID' },
      { ...importError('mixed.csv', 4), error_id: 'mixed-4', code: 'INVALID_DATE' },
      { ...importError('mixed.csv', 5), error_id: 'mixed-5', code: 'INVALID_UUID' },
    ])
    await pollUntil(
      'digest delivered',
      async () => delivered((r) => r.body.key === 'import:mixed.csv').length === 1,
    )
    const all = delivered((r) => r.body.key === 'import:mixed.csv')
    expect(all).toHaveLength(1)
    expect(all[0]!.body.count).toBe(4)
    expect(all[0]!.body.text).toContain(
      '4 rows rejected from file mixed.csv (INVALID_UUID=2, INVALID_DATE=1, INVALID_QUANTITY=1)',
    )
  })

  it('throttles the same key within the window: recorded, not sent', async () => {
    await sendErrors([importError('again.csv', 2)])
    await pollUntil(
      'first alert sent',
      async () => delivered((r) => r.body.key === 'import:again.csv').length === 1,
    )
    await sendErrors([importError('again.csv', 3)])
    await pollUntil('second alert recorded', async () => {
      const rows =
        await ctx.sql`select status from alerts where alert_key = 'import:again.csv' order by created_at`
      return rows.length === 2 ? rows : undefined
    })
    const rows =
      await ctx.sql`select status from alerts where alert_key = 'import:again.csv' order by created_at`
    expect(rows.map((r) => r.status)).toEqual(['sent', 'throttled'])
    expect(delivered((r) => r.body.key === 'import:again.csv')).toHaveLength(1)
  })
})
