// End to end: `stockflow start` (what `npm start` runs) with the seed dropped into its input folder.
import { spawn } from 'node:child_process'
import { copyFile, mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { freePort } from './support/ports.ts'

const BIN = new URL('../bin/commands.ts', import.meta.url).pathname
const SEED = new URL('../examples/example.csv', import.meta.url)

describe('stockflow start', () => {
  let ctx: TestContext
  beforeAll(async () => {
    ctx = await createTestContext('start')
  })
  afterAll(async () => {
    await ctx.close()
  })

  it('runs the whole pipeline: drop the seed, see stock and a receipt, Ctrl-C stops everything', async () => {
    const input = await mkdtemp(join(tmpdir(), 'stockflow-start-'))
    const ports = {
      IMPORTER_PORT: await freePort(),
      PROCESSOR_PORT: await freePort(),
      ALERTER_PORT: await freePort(),
    }
    const webPort = await freePort()
    // A folder of its own: start keeps its one-per-folder lock in .stack/ there, and a developer's own
    // npm start in the checkout must not make this one refuse.
    const folder = await mkdtemp(join(tmpdir(), 'stockflow-start-folder-'))
    const child = spawn(process.execPath, [BIN, 'start'], {
      cwd: folder,
      env: {
        ...process.env,
        ...ctx.env,
        INPUT_DIR: input,
        LOG_LEVEL: 'warn',
        ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
        WEB_PORT: String(webPort),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let screen = ''
    child.stderr.on('data', (d) => {
      screen += d
    })
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
    try {
      // A start that refuses (a port, the database) exits at once: say so with what it printed, rather
      // than wait out the deadline for a banner that will never come.
      const shown = await pollUntil(
        'the first screen',
        async () => (child.exitCode !== null ? 'exited' : screen.includes('Drop CSV files into') && 'shown'),
        { timeoutMs: 60_000 },
      ).catch((err: Error) => `${err.message}`)
      expect({ shown, screen }).toMatchObject({ shown: 'shown' })
      expect(screen).toContain(input)
      expect(screen).toContain('stockflow tail')
      expect(screen).toContain(`Web console:           http://127.0.0.1:${webPort}/`)
      await pollUntil(
        'services ready',
        async () => {
          const all = await Promise.all(
            Object.values(ports).map((p) =>
              fetch(`http://127.0.0.1:${p}/readyz`).then(
                (r) => r.status,
                () => 0,
              ),
            ),
          )
          return all.every((s) => s === 200)
        },
        { timeoutMs: 90_000 },
      )

      // Each service runs under its configured memory bounds (lib/runtime.ts), in the pid it started with.
      const kids = (await readFile(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8'))
        .trim()
        .split(/\s+/)
      const cmdlines = await Promise.all(
        kids.map(async (pid) =>
          (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ').trim(),
        ),
      )
      const heapOf = (service: string) =>
        cmdlines.find((c) => c.endsWith(` ${service}`))?.match(/--max-old-space-size=(\d+)/)?.[1]
      expect([heapOf('importer'), heapOf('processor'), heapOf('alerter'), heapOf('web')]).toEqual([
        '48',
        '96',
        '48',
        '64',
      ])
      expect(await readFile(`/proc/${kids[0]}/environ`, 'utf8')).toContain('MALLOC_ARENA_MAX=1\0')

      await copyFile(SEED, join(input, 'example.csv'))
      await pollUntil(
        'seed stock in Postgres',
        async () => {
          const [r] = await ctx.sql`select count(*)::int as n, sum(quantity)::int as q from current_stock`
          return r?.n === 8 && r?.q === 3600
        },
        { timeoutMs: 60_000 },
      )
      const receipt = JSON.parse(await readFile(join(input, 'processed', 'example.csv.receipt.json'), 'utf8'))
      expect(receipt).toMatchObject({ status: 'processed', rows_read: 9, rows_accepted: 9 })
      // The console started with the rest, reading as stockflow_web (taken on the owner's connection here,
      // since this stack was given by URL), and shows the seed's stock.
      const page = await pollUntil('the console', async () => {
        const res = await fetch(`http://127.0.0.1:${webPort}/stock?store=5&item=12`).catch(() => undefined)
        return res?.status === 200 ? res.text() : undefined
      })
      expect(page).toMatch(
        /<td class="num">5<\/td>\s*<td class="num"><a href="\/items\/5\/12">12<\/a><\/td>\s*<td class="num">800<\/td>/,
      )
      // Its Pipeline page asks the three running services themselves whether they are ready.
      const pipeline = await (await fetch(`http://127.0.0.1:${webPort}/pipeline`)).text()
      expect(
        [...pipeline.matchAll(/<li class="(up|down)"><strong>(\w+)<\/strong>/g)].map(
          (m) => `${m[2]} ${m[1]}`,
        ),
      ).toEqual(['importer up', 'processor up', 'alerter up'])
    } finally {
      child.kill('SIGINT')
    }
    expect(await exited).toBe(0)
    expect(screen).toContain('stopped')
    const after = await Promise.all(
      [...Object.values(ports), webPort].map((p) =>
        fetch(`http://127.0.0.1:${p}/healthz`).then(
          () => 'up',
          () => 'down',
        ),
      ),
    )
    expect(after).toEqual(['down', 'down', 'down', 'down'])
  })
})
