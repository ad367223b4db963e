// `stockflow start` guards itself: one per folder, the input folder before the banner, never outliving
// the process that started it, and a port that another program holds named once instead of a crash loop.
// Each start here is given the test stack by URL (as start-e2e.test.ts does), so it starts no stack.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { freePort } from './support/ports.ts'

const LAUNCHER = new URL('../bin/stockflow.js', import.meta.url).pathname

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
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

function hold(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve(server))
  })
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()))

const occurrences = (text: string, part: string) => text.split(part).length - 1

describe('stockflow start guards', () => {
  let ctx: TestContext
  const children: ChildProcess[] = []
  beforeAll(async () => {
    ctx = await createTestContext('start_guards')
  })
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
    await ctx.close()
  })

  /** A folder of its own and free ports for the four services; the stack's URLs come from the context. */
  async function setting() {
    const folder = await mkdtemp(join(tmpdir(), 'stockflow-guards-'))
    const ports = {
      IMPORTER_PORT: await freePort(),
      PROCESSOR_PORT: await freePort(),
      ALERTER_PORT: await freePort(),
      WEB_PORT: await freePort(),
    }
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...ctx.env,
      LOG_LEVEL: 'warn',
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    }
    delete env.INPUT_DIR
    return { folder, ports, env }
  }

  const healthDown = async (ports: Record<string, number>) =>
    (
      await Promise.all(
        Object.values(ports).map((p) =>
          fetch(`http://127.0.0.1:${p}/healthz`).then(
            () => 'up',
            () => 'down',
          ),
        ),
      )
    ).every((s) => s === 'down')

  it('makes input/ before the banner, and a second start in the folder refuses, naming the first', async () => {
    const { folder, env } = await setting()
    const first = spawn(process.execPath, [LAUNCHER, 'start'], {
      cwd: folder,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.push(first)
    const { out, exited } = watch(first)
    let inputAtBanner = false
    try {
      await pollUntil(
        'the banner',
        async () => {
          if (!out.text.includes('stockflow is running.')) return false
          inputAtBanner = existsSync(join(folder, 'input'))
          return true
        },
        { timeoutMs: 60_000, intervalMs: 20 },
      )
      expect(inputAtBanner).toBe(true)
      expect(out.text).toContain(`Drop CSV files into:   ${join(folder, 'input')}`)
      const lock = JSON.parse(await readFile(join(folder, '.stack', 'start.lock.json'), 'utf8'))
      expect(lock.pid).toBe(first.pid)

      const second = await promisify(execFile)(process.execPath, [LAUNCHER, 'start'], {
        cwd: folder,
        env,
        timeout: 30_000,
      }).then(
        () => ({ code: 0, stdout: '', stderr: '' }),
        (err: { code: number; stdout: string; stderr: string }) => err,
      )
      expect(second.code).toBe(1)
      expect(second.stderr).toContain(`stockflow is already running in this folder (pid ${first.pid};`)
      expect(second.stderr).not.toContain('stockflow is running.')
      // The first one is untouched, its lock included.
      expect(first.exitCode).toBeNull()
      expect(JSON.parse(await readFile(join(folder, '.stack', 'start.lock.json'), 'utf8')).pid).toBe(
        first.pid,
      )
    } finally {
      first.kill('SIGINT')
    }
    expect(await exited).toBe(0)
    expect(existsSync(join(folder, '.stack', 'start.lock.json'))).toBe(false)
  })

  it('stops everything when the shell that ran it is terminated, as under npm', async () => {
    const { folder, ports, env } = await setting()
    // The trailing command keeps sh from exec'ing node: sh stays the parent, as `sh -c` under npm can.
    const shell = spawn('sh', ['-c', `"${process.execPath}" "${LAUNCHER}" start; echo "start exited $?"`], {
      cwd: folder,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.push(shell)
    const { out } = watch(shell)
    await pollUntil('the banner', async () => out.text.includes('stockflow is running.'), {
      timeoutMs: 60_000,
    })
    const { pid } = JSON.parse(await readFile(join(folder, '.stack', 'start.lock.json'), 'utf8')) as {
      pid: number
    }
    expect(pid).not.toBe(shell.pid)
    await pollUntil('services up', async () => !(await healthDown({ IMPORTER_PORT: ports.IMPORTER_PORT })), {
      timeoutMs: 60_000,
    })

    shell.kill('SIGTERM')
    await pollUntil('stockflow start gone', async () => !alive(pid), { timeoutMs: 60_000 })
    // Which of its watches sees it first (its parent's pid, or an ancestor gone) varies; both say so.
    expect(out.text).toMatch(
      /(the process that started it \(pid \d+\)|\(pid \d+\), which started it,) is gone/,
    )
    expect(out.text).toContain('[stockflow] stopped')
    expect(await healthDown(ports)).toBe(true)
    expect(existsSync(join(folder, '.stack', 'start.lock.json'))).toBe(false)
  })

  it('names a port that another program holds, once, and starts nothing', async () => {
    const { folder, ports, env } = await setting()
    const squatter = await hold(ports.PROCESSOR_PORT)
    try {
      const r = await promisify(execFile)(process.execPath, [LAUNCHER, 'start'], {
        cwd: folder,
        env,
        timeout: 30_000,
      }).then(
        () => ({ code: 0, stdout: '', stderr: '' }),
        (err: { code: number; stdout: string; stderr: string }) => err,
      )
      expect(r.code).toBe(1)
      expect(
        occurrences(
          r.stderr,
          `port ${ports.PROCESSOR_PORT} on 127.0.0.1 (PROCESSOR_PORT) is already in use by another program`,
        ),
      ).toBe(1)
      expect(r.stderr).not.toContain('stockflow is running.')
      expect(r.stderr).not.toContain('EADDRINUSE')
      expect(await healthDown({ IMPORTER_PORT: ports.IMPORTER_PORT, WEB_PORT: ports.WEB_PORT })).toBe(true)
    } finally {
      await close(squatter)
    }
  })

  it('stops instead of crash-looping when a port is taken while it runs', async () => {
    const { folder, ports, env } = await setting()
    const start = spawn(process.execPath, [LAUNCHER, 'start'], {
      cwd: folder,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.push(start)
    const { out, exited } = watch(start)
    await pollUntil('the banner', async () => out.text.includes('stockflow is running.'), {
      timeoutMs: 60_000,
    })
    const importer = await pollUntil('the importer child', async () => {
      const kids = (await readFile(`/proc/${start.pid}/task/${start.pid}/children`, 'utf8'))
        .trim()
        .split(/\s+/)
      for (const kid of kids) {
        const cmdline = (await readFile(`/proc/${kid}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ')
        if (cmdline.trim().endsWith(' importer')) return Number(kid)
      }
      return undefined
    })
    await pollUntil(
      'importer listening',
      async () => !(await healthDown({ IMPORTER_PORT: ports.IMPORTER_PORT })),
      {
        timeoutMs: 60_000,
      },
    )
    // Another program takes the importer's port the moment the importer is gone.
    process.kill(importer, 'SIGKILL')
    const squatter = await pollUntil('the port taken', () => hold(ports.IMPORTER_PORT), {
      timeoutMs: 10_000,
      intervalMs: 5,
    })
    try {
      expect(await exited).toBe(1)
      expect(
        occurrences(
          out.text,
          `port ${ports.IMPORTER_PORT} on 127.0.0.1 (IMPORTER_PORT) is already in use by another program`,
        ),
      ).toBe(1)
      expect(out.text).toContain('[stockflow] stopped')
      expect(
        await healthDown({
          PROCESSOR_PORT: ports.PROCESSOR_PORT,
          ALERTER_PORT: ports.ALERTER_PORT,
          WEB_PORT: ports.WEB_PORT,
        }),
      ).toBe(true)
    } finally {
      await close(squatter)
    }
  })
})
