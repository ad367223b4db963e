// A newcomer's two terminals: `npm start` in one, and in another, in the same folder with no URL
// exported, stats, tail, psql and an import from examples/. Then `stockflow stack` in the foreground.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { copyFile, mkdtemp, readFile, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { pollUntil } from './support/context.ts'
import { freePort } from './support/ports.ts'

const LAUNCHER = new URL('../bin/stockflow.js', import.meta.url).pathname
const EXAMPLE = new URL('../examples/example.csv', import.meta.url)

/** The environment of a fresh terminal: no stockflow settings at all. */
function bareEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(KAFKA_|SCHEMA_REGISTRY_|DATABASE_|TOPIC_|STACK_|PROCESS_|IMPORT|ALERT|INPUT_DIR)/.test(k),
    ),
  )
  return { ...env, LOG_LEVEL: 'warn', ...extra }
}

async function stockflow(cwd: string, args: string[]) {
  try {
    const r = await promisify(execFile)(process.execPath, [LAUNCHER, ...args], { cwd, env: bareEnv() })
    return { code: 0, stdout: r.stdout, stderr: r.stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

function watch(child: ChildProcess) {
  const out = { text: '' }
  child.stdout?.on('data', (d) => {
    out.text += d
  })
  child.stderr?.on('data', (d) => {
    out.text += d
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { out, exited }
}

describe('from a second terminal', () => {
  const children: ChildProcess[] = []
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  })

  it('stats, tail, psql and an import work with nothing exported while npm start runs', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'stockflow-terminal-'))
    const [kafka, controller, registry, postgres, web, ...health] = await Promise.all(
      Array.from({ length: 8 }, () => freePort()),
    )
    const start = spawn(process.execPath, [LAUNCHER, 'start'], {
      cwd: folder,
      env: bareEnv({
        STACK_KAFKA_PORT: String(kafka),
        STACK_KAFKA_CONTROLLER_PORT: String(controller),
        STACK_REGISTRY_PORT: String(registry),
        STACK_POSTGRES_PORT: String(postgres),
        IMPORTER_PORT: String(health[0]),
        PROCESSOR_PORT: String(health[1]),
        ALERTER_PORT: String(health[2]),
        WEB_PORT: String(web),
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.push(start)
    const { out, exited } = watch(start)
    try {
      await pollUntil('the start banner', async () => out.text.includes('stockflow is running.'), {
        timeoutMs: 180_000,
      })
      // The banner's commands are the ones run below, as pasted.
      expect(out.text).toContain("npx stockflow psql -c 'select * from current_stock'")
      expect(out.text).not.toContain('***')
      // The stack honours STACK_*_PORT, and keeps its URLs private to the user.
      expect(out.text).toContain(`127.0.0.1:${kafka}`)
      expect((await stat(join(folder, '.stack', 'dev', 'stack.lock.json'))).mode & 0o777).toBe(0o600)
      await pollUntil(
        'services ready',
        async () =>
          (
            await Promise.all(
              health.slice(0, 3).map((p) =>
                fetch(`http://127.0.0.1:${p}/readyz`).then(
                  (r) => r.status,
                  () => 0,
                ),
              ),
            )
          ).every((s) => s === 200),
        { timeoutMs: 90_000 },
      )

      const before = await stockflow(folder, ['stats'])
      expect(before).toMatchObject({ code: 0 })
      expect(before.stdout).toContain('stock       0 items, 0 units, 0 low')

      await copyFile(EXAMPLE, join(folder, 'input', 'example.csv'))
      await pollUntil(
        'the example applied, seen through stockflow psql',
        async () => {
          const r = await stockflow(folder, [
            'psql',
            '-At',
            '-c',
            'select count(*), sum(quantity) from current_stock',
          ])
          return r.code === 0 && r.stdout.trim() === '8|3600'
        },
        { timeoutMs: 60_000 },
      )

      const tail = await stockflow(folder, ['tail', 'events', '--from-beginning'])
      expect(tail.code).toBe(0)
      const events = tail.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
      expect(events).toHaveLength(9)
      expect(events[0].headers['stockflow-source-file']).toBe('example.csv')

      const after = await stockflow(folder, ['stats', '--json'])
      expect(after.code).toBe(0)
      expect(JSON.parse(after.stdout).stock).toEqual({ items: 8, units: 3600, low: expect.any(Number) })

      const app = await stockflow(folder, ['psql', '--app', '-At', '-c', 'select current_user'])
      expect(app).toMatchObject({ code: 0, stdout: 'stockflow_app\n' })

      // The console that npm start printed, on the stack's read-only role: the example's import is there.
      expect(out.text).toContain(`Web console:           http://127.0.0.1:${web}/`)
      const imports = await pollUntil('the console', async () => {
        const res = await fetch(`http://127.0.0.1:${web}/imports`).catch(() => undefined)
        return res?.status === 200 ? res.text() : undefined
      })
      expect(imports).toMatch(/<a href="\/imports\/\d+" title="example\.csv">example\.csv<\/a>/)
    } finally {
      start.kill('SIGINT')
    }
    expect(await exited).toBe(0)
    // A normal start and stop: no Node warnings, and nothing at warn level or above (LOG_LEVEL=warn here).
    expect(out.text).not.toMatch(/\(node:\d+\) \w*Warning/)
    expect(out.text.split('\n').filter((l) => /"level":(40|50|60)/.test(l))).toEqual([])
    // With the stack stopped, the same command names what it looked for instead of a stack trace.
    const orphan = await stockflow(folder, ['stats'])
    expect(orphan.code).toBe(1)
    expect(orphan.stderr).toContain('KAFKA_BROKERS is not set, and no local stack is running in this folder')
    expect(orphan.stderr).not.toMatch(/\n\s+at /)
  })

  it('names a configured variable that points at nothing', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'stockflow-terminal-'))
    const closed = await freePort()
    const { writeFile } = await import('node:fs/promises')
    await writeFile(join(folder, '.env'), `KAFKA_BROKERS=127.0.0.1:${closed}\n`)
    const r = await stockflow(folder, ['stats'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`KAFKA_BROKERS (127.0.0.1:${closed}, from .env) is not reachable`)
  })

  it('stockflow stack stays in the foreground until SIGTERM, and --write-env writes a private file', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'stockflow-stack-'))
    const stack = { env: inject('stack') }
    const envFile = join(folder, 'urls.env')
    const child = spawn(
      process.execPath,
      [LAUNCHER, 'stack', '--dir', join(folder, 'stack'), '--write-env', envFile],
      { cwd: folder, env: bareEnv({ ...stack.env }), stdio: ['ignore', 'pipe', 'pipe'] },
    )
    children.push(child)
    const { out, exited } = watch(child)
    await pollUntil('stack up', async () => out.text.includes('[stack] up'), { timeoutMs: 30_000 })
    expect(await readFile(envFile, 'utf8')).toBe(
      `KAFKA_BROKERS=${stack.env.KAFKA_BROKERS}\nSCHEMA_REGISTRY_URL=${stack.env.SCHEMA_REGISTRY_URL}\nDATABASE_URL=${stack.env.DATABASE_URL}\n`,
    )
    expect((await stat(envFile)).mode & 0o777).toBe(0o600)
    // Still there to hear the signal: a stack that returned to the shell after "up" would not say this.
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(out.text).toContain('[stack] stopping…')
    expect(out.text).toContain('[stack] stopped')
  })
})
