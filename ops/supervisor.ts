// Runs child processes and restarts any that dies, with backoff; stops them all on request. A child that
// died because another program holds its port is not restarted: it would fail the same way for ever.
import { type ChildProcess, spawn } from 'node:child_process'
import { backoffMs } from '../lib/retry.ts'
import { bindProblem, describePortProblem, type ServicePort } from './port-check.ts'

export interface ChildSpec {
  name: string
  args: string[]
  env: NodeJS.ProcessEnv
  /** The port the child listens on, looked at when it exits. */
  port?: ServicePort
}

export interface SuperviseOptions {
  /** A child's port is held by another program; the child is not restarted. Called once per child. */
  onPortTaken?: (problem: string) => void
}

export interface Supervisor {
  stop(): Promise<void>
  pids(): Record<string, number | undefined>
}

export function supervise(
  specs: ChildSpec[],
  log: (msg: string) => void,
  graceMs = 20_000,
  opts: SuperviseOptions = {},
): Supervisor {
  const running = new Map<string, ChildProcess>()
  const restarts = new Map<string, number>()
  const pending = new Set<NodeJS.Timeout>()
  let stopping = false

  function launch(spec: ChildSpec) {
    const child = spawn(process.execPath, spec.args, {
      env: spec.env,
      stdio: ['ignore', 'inherit', 'inherit'],
    })
    running.set(spec.name, child)
    const startedAt = Date.now()
    child.once('exit', async (code, signal) => {
      running.delete(spec.name)
      if (stopping) return
      // Its own socket closed when it exited: a port still bound now is held by someone else.
      const held = spec.port && (await bindProblem(spec.port.host, spec.port.port)) === 'EADDRINUSE'
      if (stopping) return
      if (spec.port && held) {
        // The owner says what the port is and what to do, once; this line only accounts for the exit.
        log(
          `${spec.name} exited (${signal ?? `code ${code}`}) and another program holds its port; not restarting it`,
        )
        opts.onPortTaken?.(describePortProblem(spec.port, 'EADDRINUSE'))
        return
      }
      // A child that stayed up a while gets a fresh backoff; one that crash-loops waits longer each time.
      const n = Date.now() - startedAt > 60_000 ? 1 : (restarts.get(spec.name) ?? 0) + 1
      restarts.set(spec.name, n)
      const delay = backoffMs(n, 500, 30_000)
      log(`${spec.name} exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`)
      // A ref'd timer: while a restart is pending it keeps the owner alive, even with every child down.
      const timer = setTimeout(() => {
        pending.delete(timer)
        if (!stopping) launch(spec)
      }, delay)
      pending.add(timer)
    })
  }

  for (const s of specs) launch(s)
  return {
    pids: () => Object.fromEntries(specs.map((s) => [s.name, running.get(s.name)?.pid])),
    async stop() {
      stopping = true
      for (const t of pending) clearTimeout(t)
      pending.clear()
      await Promise.all(
        [...running.values()].map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve()
              const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
              child.once('exit', () => {
                clearTimeout(timer)
                resolve()
              })
              child.kill('SIGTERM')
            }),
        ),
      )
    },
  }
}
