// The web console against the real stack, for the browser suites: a real importer and processor
// in-process, the console reading as stockflow_web (as `npm start` runs it), and Debian's chromium.
import { mkdtemp } from 'node:fs/promises'
import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Admin } from 'kafkajs'
import type { Browser } from 'playwright-core'
import { inject } from 'vitest'
import { consumerLag } from '../../ledger/lag.ts'
import { createRedriveSender } from '../../ledger/redrive.ts'
import { createRevertSender } from '../../ledger/revert.ts'
import { loadConfig } from '../../lib/config.ts'
import { createSql, type Sql } from '../../lib/db.ts'
import { createKafka } from '../../lib/kafka.ts'
import type { Processor } from '../../processor/processor.ts'
import { createWebServer } from '../../web/server.ts'
import { readTlsFiles } from '../../web/tls.ts'
import { launchBrowser } from './browser.ts'
import { createTestContext, type TestContext } from './context.ts'
import { type RunningImporter, startImporter } from './importer.ts'
import { encoders } from './kafka.ts'
import { startProcessor } from './processor.ts'

export const EXAMPLES = join(import.meta.dirname, '..', '..', 'examples')

export interface ConsoleFixture {
  ctx: TestContext
  inputDir: string
  importer: RunningImporter
  /** The console's own connection: the read-only role. */
  webSql: Sql
  browser: Browser
  /**
   * Starts one more console with these settings on top of the suite's; resolves its base URL (https when
   * WEB_TLS_CERT and WEB_TLS_KEY are given). It listens on 127.0.0.1 whatever WEB_HOST says.
   */
  serve(env?: Record<string, string>): Promise<string>
  /** The stock level of one item, straight from the ledger. */
  level(store: number, item: number): Promise<number | undefined>
  close(): Promise<void>
}

export async function startConsoleFixture(prefix: string): Promise<ConsoleFixture> {
  const inputDir = await mkdtemp(join(tmpdir(), 'stockflow-web-'))
  const ctx = await createTestContext(prefix, {
    INPUT_DIR: inputDir,
    IMPORT_SETTLE_MS: '100',
    PROCESS_MAX_ATTEMPTS: '1',
    OUTBOX_POLL_MS: '50',
  })
  const importer = await startImporter(ctx)
  const processor: Processor = await startProcessor(ctx, importer.producer)
  const webUrl = inject('webDatabaseUrl')
  const webSql: Sql = createSql({
    url: webUrl ?? ctx.config.db.url,
    schema: ctx.config.db.schema,
    max: 3,
    name: `test-${prefix}`,
    settings: webUrl ? {} : { role: 'stockflow_web' },
  })
  const admin: Admin = createKafka(ctx.config.kafka, ctx.log, `test-${prefix}`).admin()
  await admin.connect()
  const browser = await launchBrowser()
  const servers: FastifyInstance[] = []
  const movements = (await encoders(ctx)).movements

  return {
    ctx,
    inputDir,
    importer,
    webSql,
    browser,
    async serve(env = {}) {
      const config = loadConfig({ ...ctx.env, ...env })
      const app = await createWebServer({
        sql: webSql,
        log: ctx.log,
        clock: Date.now,
        config,
        redriveSend: createRedriveSender({
          producer: importer.producer,
          encoder: movements,
          topic: config.topics.events,
        }),
        revertSend: createRevertSender({
          producer: importer.producer,
          encoder: movements,
          topic: config.topics.events,
        }),
        pipeline: {
          lag: () => consumerLag(admin, config, new Map()),
          readiness: async () => [{ service: 'processor', url: 'in-process', ready: true, detail: 'ready' }],
        },
        tls: await readTlsFiles(config.web.tls),
      })
      await app.listen({ host: '127.0.0.1', port: 0 })
      servers.push(app)
      const scheme = config.web.tls ? 'https' : 'http'
      return `${scheme}://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    },
    async level(store, item) {
      const [row] =
        await ctx.sql`select quantity from stock_levels where store_number = ${store} and item_number = ${item}`
      return row?.quantity as number | undefined
    },
    async close() {
      await browser.close()
      for (const s of servers) await s.close()
      await admin.disconnect()
      await webSql.end({ timeout: 5 })
      await processor.stop()
      await importer.stop()
      await ctx.close()
    },
  }
}

/** A request with exactly these headers (fetch will not send another Host), for what browsers cannot do. */
export function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d) => {
        text += d
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}
