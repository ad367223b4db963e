// Low stock through the real processor and the real alerter: an item that goes low and recovers within the
// digest window is not alerted as low; the window's alert lists the items still low when it closes and
// counts the ones that recovered.
import type { Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Alerter } from '../alerter/alerter.ts'
import type { RenewableProducer } from '../lib/kafka.ts'
import type { Encoder } from '../lib/registry.ts'
import type { Processor } from '../processor/processor.ts'
import type { StockMovement } from '../schemas/contract.ts'
import { startAlerter } from './support/alerter.ts'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { connectProducer, encoders, setupTopics } from './support/kafka.ts'
import { movement, produceMovements, startProcessor } from './support/processor.ts'
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook.ts'

interface Body {
  key: string
  kind: string
  severity: string
  text: string
  count: number
}

describe('low-stock alerts', () => {
  let ctx: TestContext
  let kafka: Kafka
  let producer: RenewableProducer
  let enc: Encoder<StockMovement>
  let processor: Processor
  let alerter: Alerter
  let receiver: WebhookReceiver
  const bodies: Body[] = []

  beforeAll(async () => {
    receiver = await startWebhookReceiver((body) => {
      bodies.push(body as Body)
      return 200
    })
    ctx = await createTestContext('alert_low_stock', {
      LOW_STOCK_DEFAULT: '10',
      OUTBOX_POLL_MS: '50',
      // Long enough for a recovery sent with the sale to be applied before the window closes.
      ALERT_DIGEST_WINDOW_MS: '1500',
      ALERT_WEBHOOK_RETRY_MS: '100',
      ALERT_WEBHOOK_URL: receiver.url,
    })
    kafka = await setupTopics(ctx)
    producer = await connectProducer(kafka)
    enc = (await encoders(ctx)).movements
    processor = await startProcessor(ctx, producer)
    alerter = await startAlerter(ctx, kafka)
  })
  afterAll(async () => {
    await alerter?.stop()
    await processor?.stop()
    await producer?.disconnect()
    await receiver?.close()
    await ctx?.close()
  })

  const send = (ms: StockMovement[]) => produceMovements(producer, ctx.config.topics.events, enc, ms)
  const level = async (store: number, item: number) => {
    const [row] =
      await ctx.sql`select quantity from stock_levels where store_number = ${store} and item_number = ${item} and last_transaction_id is not null`
    return row?.quantity as number | undefined
  }
  /** The event was consumed and its window has closed: it is seen and no longer pending. */
  const windowClosed = async (sourceId: string) => {
    const [seen] = await ctx.sql`select count(*)::int as n from alert_seen where source_id = ${sourceId}`
    const [pending] =
      await ctx.sql`select count(*)::int as n from alert_pending where source_id = ${sourceId}`
    return seen!.n === 1 && pending!.n === 0
  }
  const alertsWith = (sourceId: string) =>
    ctx.sql`select kind, alert_key, text, item_count from alerts where ${sourceId} = any(source_ids)`

  it('an item that goes low and recovers within the window gives no alert', async () => {
    await send([movement('incoming', 41, 1, 20)])
    await pollUntil('stock booked', async () => (await level(41, 1)) === 20)
    await send([movement('sale', 41, 1, 15), movement('incoming', 41, 1, 10)])
    await pollUntil('sale and restock applied', async () => (await level(41, 1)) === 15)
    await pollUntil('the low-stock window closed', () => windowClosed('low-stock:41:1:1:LOW'))
    expect(await alertsWith('low-stock:41:1:1:LOW')).toEqual([])
    expect(bodies.filter((b) => b.text.includes('store 41 item 1 '))).toEqual([])
  })

  it('lists only the item still low when the window closes, and counts the one that recovered', async () => {
    await send([movement('incoming', 42, 1, 20), movement('incoming', 42, 2, 20)])
    await pollUntil('stock booked', async () => (await level(42, 1)) === 20 && (await level(42, 2)) === 20)
    await send([movement('sale', 42, 1, 15), movement('sale', 42, 2, 16), movement('incoming', 42, 1, 30)])
    await pollUntil(
      'sales and restock applied',
      async () => (await level(42, 1)) === 35 && (await level(42, 2)) === 4,
    )
    const alerts = await pollUntil('the window alerted', async () => {
      const a = await alertsWith('low-stock:42:2:1:LOW')
      return a.length > 0 ? a : undefined
    })
    expect(alerts).toEqual([
      {
        kind: 'low-stock',
        alert_key: 'low-stock',
        text: 'store 42 item 2 is low: 4 left (threshold 10). 1 other item went low and recovered within the window',
        item_count: 1,
      },
    ])
    // The recovered item's event was in the same window, and is in no other alert.
    expect(await alertsWith('low-stock:42:1:1:LOW')).toHaveLength(1)
    const sent = await pollUntil('the alert delivered', async () => {
      const b = bodies.filter((x) => x.text.includes('store 42 item '))
      return b.length > 0 ? b : undefined
    })
    expect(sent.map((b) => [b.key, b.severity, b.count, b.text])).toEqual([
      [
        'low-stock',
        'warning',
        1,
        ':warning: stockflow: store 42 item 2 is low: 4 left (threshold 10). 1 other item went low and recovered within the window',
      ],
    ])
  })
})
