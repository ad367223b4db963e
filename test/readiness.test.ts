// /readyz of the real processor service turns unready when its Postgres stops, and ready again after.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPostgresServer, type PostgresServer } from '../infra/postgres-server.ts'
import { createSql, migrate } from '../lib/db.ts'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { setupTopics } from './support/kafka.ts'
import { freePort } from './support/ports.ts'

const BIN = new URL('../bin/commands.ts', import.meta.url).pathname

describe('readiness', () => {
  let ctx: TestContext
  let pg: PostgresServer
  let child: ChildProcess
  let port: number

  beforeAll(async () => {
    ctx = await createTestContext('ready')
    await setupTopics(ctx)
    // A Postgres of this test's own, so stopping it disturbs no other suite.
    pg = createPostgresServer({
      dataDir: await mkdtemp(join(tmpdir(), 'stockflow-pg-')),
      port: await freePort(),
    })
    await pg.start()
    const owner = createSql({ url: pg.url, max: 1 })
    await migrate(owner, { schema: ctx.config.db.schema })
    await owner.end()
    port = await freePort()
    child = spawn(process.execPath, [BIN, 'processor'], {
      env: {
        ...process.env,
        ...ctx.env,
        DATABASE_URL: pg.url,
        PROCESSOR_PORT: String(port),
        LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    })
  })
  afterAll(async () => {
    child?.kill('SIGKILL')
    await pg?.stop()
    await ctx.close()
  })

  const readyz = async () => {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`)
    return {
      status: res.status,
      body: (await res.json()) as { status: string; failed: Record<string, string> },
    }
  }

  it('reports ready, then unready naming postgres when it stops, then ready again', async () => {
    await pollUntil('ready', async () => (await readyz().catch(() => undefined))?.status === 200, {
      timeoutMs: 60_000,
    })
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200)
    expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toContain(
      'stockflow_process_events_total',
    )

    await pg.crash()
    const down = await pollUntil('unready', async () => {
      const r = await readyz()
      return r.status === 503 ? r : undefined
    })
    expect(Object.keys(down.body.failed)).toEqual(['postgres'])
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200)

    await pg.start()
    await pollUntil('ready again', async () => (await readyz()).status === 200, { timeoutMs: 60_000 })
  })
})
