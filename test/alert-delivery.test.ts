// Alert delivery against a real Postgres and a local HTTP receiver: retry on 429/5xx, give up on a
// permanent 4xx or after the attempts, and two alerters never send one alert twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { insertAlert } from '../alerter/alert-store.ts'
import { createDelivery } from '../alerter/delivery.ts'
import { createWebhookSink } from '../alerter/webhook.ts'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook.ts'

describe('alert delivery', () => {
  let ctx: TestContext
  let receiver: WebhookReceiver
  const got: { id: string; text: string }[] = []
  // Scripted answers per alert id; default 200.
  const script = new Map<string, number[]>()

  beforeAll(async () => {
    // A slow receiver (20 ms) widens the window in which two alerters could both send.
    receiver = await startWebhookReceiver((body) => {
      const b = body as { alert_id: string; text: string }
      const status = script.get(b.alert_id)?.shift() ?? 200
      if (status === 200) got.push({ id: b.alert_id, text: b.text })
      return status
    }, 20)
    ctx = await createTestContext('alert_delivery')
  })
  afterAll(async () => {
    await receiver.close()
    await ctx.close()
  })

  const delivery = (maxAttempts = 5) =>
    createDelivery({
      sql: ctx.sql,
      sink: createWebhookSink(receiver.url, 2000),
      log: ctx.log,
      clock: Date.now,
      config: { webhookRetryMs: [0], webhookTimeoutMs: 2000, webhookMaxAttempts: maxAttempts },
    })
  const add = (id: string, text = `alert ${id}`) =>
    insertAlert(ctx.sql, {
      alert_id: id,
      kind: 'error',
      alert_key: `k:${id}`,
      severity: 'warning',
      text,
      item_count: 1,
      source_ids: [id],
      status: 'pending',
      now: Date.now() - 1000,
    })
  const state = async (id: string) => {
    const [row] = await ctx.sql`select status, attempts, last_error from alerts where alert_id = ${id}`
    return row
  }

  it('retries 429 and 5xx, gives up at once on a permanent 4xx, and after the attempts otherwise', async () => {
    script.set('flaky', [503, 429])
    script.set('revoked', [404])
    script.set('down', [500, 500, 500, 500])
    for (const id of ['flaky', 'revoked', 'down']) await add(id)
    const deliver = delivery(3)
    await pollUntil('all settled', async () => {
      await deliver()
      const rows = await ctx.sql`select count(*)::int as n from alerts where status = 'pending'`
      return rows[0]?.n === 0
    })
    expect(await state('flaky')).toEqual({ status: 'sent', attempts: 3, last_error: null })
    expect(await state('revoked')).toEqual({
      status: 'failed',
      attempts: 1,
      last_error: 'webhook answered HTTP 404',
    })
    expect(await state('down')).toEqual({
      status: 'failed',
      attempts: 3,
      last_error: 'webhook answered HTTP 500',
    })
    expect(got.map((g) => g.id)).toEqual(['flaky'])
  })

  it('two alerters delivering at once send every alert exactly once', async () => {
    got.length = 0
    const ids = Array.from({ length: 120 }, (_, i) => `pair-${i}`)
    for (const id of ids) await add(id, `<!channel> row ${id}`)
    const a = delivery()
    const b = delivery()
    await pollUntil('all sent', async () => {
      await Promise.all([a(), b()])
      return got.length >= ids.length
    })
    expect(got.map((g) => g.id).sort()).toEqual([...ids].sort())
    expect(got[0]?.text).toContain('&lt;!channel&gt;')
  })

  it('a slow but healthy webhook: a second alerter never takes over an alert the first is sending', async () => {
    // 1.5 s per call against a 2 s timeout: a lease for a whole page of alerts ran out under the first
    // alerter while it was still going through the page.
    const seen: string[] = []
    const slow = await startWebhookReceiver((body) => {
      seen.push((body as { alert_id: string }).alert_id)
      return 200
    }, 1500)
    const mk = () =>
      createDelivery({
        sql: ctx.sql,
        sink: createWebhookSink(slow.url, 2000),
        log: ctx.log,
        clock: Date.now,
        config: { webhookRetryMs: [0], webhookTimeoutMs: 2000, webhookMaxAttempts: 5 },
      })
    try {
      const ids = Array.from({ length: 12 }, (_, i) => `slow-${i}`)
      for (const id of ids) await add(id)
      const a = mk()
      const b = mk()
      const sent = async () =>
        (
          await ctx.sql`select count(*)::int as n from alerts where alert_id like 'slow-%' and status = 'sent'`
        )[0]!.n === 12
      // Two alerters, each polling on its own, as two processes would.
      const run = async (deliver: () => Promise<boolean>) => {
        while (!(await sent())) if (!(await deliver())) await new Promise((r) => setTimeout(r, 100))
      }
      await Promise.race([
        Promise.all([run(a), run(b)]),
        new Promise((_, reject) => setTimeout(() => reject(new Error('not all sent within 60 s')), 60_000)),
      ])
      expect(seen.sort()).toEqual([...ids].sort())
    } finally {
      await slow.close()
    }
  }, 90_000)
})
