// A file's rejected rows through the real importer and the real alerter: one file gives one alert, with its
// true count and the archive its rows really went to, however long the import takes.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Alerter } from '../alerter/alerter.ts'
import { startAlerter } from './support/alerter.ts'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { type RunningImporter, startImporter } from './support/importer.ts'
import { setupTopics } from './support/kafka.ts'
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook.ts'

const HEADER = 'transaction_id,event_type,date,store_number,item_number,value'
const good = (file: number, n: number) =>
  `${String(file).padStart(8, '0')}-0000-4000-8000-${String(n).padStart(12, '0')},incoming,2024-01-01T00:00:00Z,${file},${n},1`
const bad = (n: number) => `not-a-uuid-${n},incoming,2024-01-01T00:00:00Z,1,1,1`

interface Body {
  key: string
  text: string
  count: number
}

describe('alerts for imported files', () => {
  let ctx: TestContext
  let input: string
  let importer: RunningImporter
  let alerter: Alerter
  let receiver: WebhookReceiver
  const bodies: Body[] = []

  beforeAll(async () => {
    receiver = await startWebhookReceiver((body) => {
      bodies.push(body as Body)
      return 200
    })
    input = await mkdtemp(join(tmpdir(), 'stockflow-alert-files-'))
    ctx = await createTestContext('alert_files', {
      INPUT_DIR: input,
      IMPORT_SETTLE_MS: '100',
      IMPORT_BATCH_ROWS: '200',
      // A window far shorter than the import of the large file below, and the default throttle.
      ALERT_DIGEST_WINDOW_MS: '100',
      ALERT_THROTTLE_MS: '900000',
      ALERT_WEBHOOK_RETRY_MS: '100',
      ALERT_WEBHOOK_URL: receiver.url,
    })
    const kafka = await setupTopics(ctx)
    importer = await startImporter(ctx)
    alerter = await startAlerter(ctx, kafka)
  })
  afterAll(async () => {
    await alerter?.stop()
    await importer?.stop()
    await receiver?.close()
    await ctx?.close()
  })

  const settled = async (key: string) => {
    const [p] = await ctx.sql`select count(*)::int as n from alert_pending where alert_key = ${key}`
    const alerts =
      await ctx.sql`select status, item_count from alerts where alert_key = ${key} order by created_at`
    return p!.n === 0 && alerts.length > 0 && alerts.every((a) => a.status === 'sent') ? alerts : undefined
  }

  it('a file that takes longer to import than the digest window gives one alert with its true count', async () => {
    const rows = [bad(1), bad(2), bad(3)]
    for (let n = 1; n <= 120_000; n++) rows.push(good(1, n))
    rows.push(bad(4), bad(5), bad(6))
    await writeFile(join(input, 'big.csv'), `${HEADER}\n${rows.join('\n')}\n`)
    await pollUntil(
      'the file imported',
      async () => (await ctx.sql`select 1 from import_outcomes where file_name = 'big.csv'`).length > 0,
      { timeoutMs: 120_000 },
    )
    const alerts = await pollUntil('its alert sent', () => settled('import:big.csv'), { timeoutMs: 30_000 })
    expect(alerts).toEqual([{ status: 'sent', item_count: 6 }])
    const sent = bodies.filter((b) => b.key === 'import:big.csv')
    expect(sent).toHaveLength(1)
    expect(sent[0]!.text).toMatch(/: 6 rows rejected from file big\.csv \(INVALID_UUID=6\)/)
  })

  it('names the archive of each of two files of one name, each in its own alert', async () => {
    await writeFile(join(input, 'stock.csv'), `${HEADER}\n${bad(11)}\n${bad(12)}\n${good(2, 1)}\n`)
    await pollUntil('the first stock.csv imported', async () => {
      const r = await ctx.sql`select 1 from import_outcomes where file_name = 'stock.csv'`
      return r.length === 1
    })
    await writeFile(join(input, 'stock.csv'), `${HEADER}\n${bad(21)}\n${bad(22)}\n${good(2, 2)}\n`)
    await pollUntil(
      'two alerts sent',
      async () => {
        const a = await settled('import:stock.csv')
        return a?.length === 2 ? a : undefined
      },
      { timeoutMs: 30_000 },
    )
    const texts = bodies.filter((b) => b.key === 'import:stock.csv').map((b) => b.text)
    expect(texts).toHaveLength(2)
    expect(texts[0]).toContain('Fix them in processed/stock.csv.rejected.csv ')
    expect(texts[1]).toContain('Fix them in processed/stock-1.csv.rejected.csv ')
    const second = await readFile(join(input, 'processed', 'stock-1.csv.rejected.csv'), 'utf8')
    expect(second).toContain('not-a-uuid-21')
  })
})
