// Child-process plumbing for the local stack: detached process groups, log files, bounded waits.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { openSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)

export interface RunAs {
  uid: number
  gid: number
}

export interface Daemon {
  readonly name: string
  readonly pid: number
  readonly exited: Promise<number | null>
  /** Signals the whole process group, so JVM children and helpers go too. */
  signal(sig: NodeJS.Signals): void
  alive(): boolean
}

export function spawnDaemon(
  name: string,
  cmd: string,
  args: string[],
  opts: { logFile: string; cwd?: string; env?: NodeJS.ProcessEnv; runAs?: RunAs },
): Daemon {
  const out = openSync(opts.logFile, 'a')
  const child: ChildProcess = spawn(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: true,
    stdio: ['ignore', out, out],
    uid: opts.runAs?.uid,
    gid: opts.runAs?.gid,
  })
  if (child.pid === undefined) throw new Error(`${name}: could not spawn ${cmd}`)
  const pid = child.pid
  let running = true
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running = false
      resolve(code)
    })
    child.once('error', () => {
      running = false
      resolve(null)
    })
  })
  // Not unref'd: the process that started a daemon stays alive exactly as long as it owns one, so an
  // owner that only waits (npm run stack, the chaos harness) cannot fall out of its event loop.
  return {
    name,
    pid,
    exited,
    alive: () => running,
    signal(sig) {
      killGroup(pid, sig)
    },
  }
}

export function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig)
  } catch {
    // The group may already be gone; that is the state we want.
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The fields of /proc/PID/stat that stockflow reads; times are in clock ticks. */
export interface ProcStat {
  pid: number
  ppid: number
  /** utime + stime. */
  own: number
  /** cutime + cstime: children this process has waited for. */
  reaped: number
  /** When the process started, in ticks since boot (field 22). */
  startTime: number
}

/** Parses one /proc/PID/stat line. Field 2, the command, may hold spaces and parentheses. */
export function parseStat(line: string): ProcStat {
  const rest = line
    .slice(line.lastIndexOf(')') + 2)
    .trim()
    .split(' ')
  // rest[0] is field 3 (state).
  const field = (n: number) => Number(rest[n - 3])
  return {
    pid: Number(line.slice(0, line.indexOf('(')).trim()),
    ppid: field(4),
    own: field(14) + field(15),
    reaped: field(16) + field(17),
    startTime: field(22),
  }
}

/**
 * When a process started, or undefined where there is no /proc. With the pid it names one process for
 * good: a pid reused after a crash or a reboot has another start time.
 */
export function processStartTime(pid: number): number | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).startTime
  } catch {
    return undefined
  }
}

/** The process that wrote a lock is still the one running under its pid. */
export function sameProcessAlive(pid: number, startTime: number | undefined): boolean {
  if (!pidAlive(pid)) return false
  const now = processStartTime(pid)
  return startTime === undefined || now === undefined || now === startTime
}

/** SIGTERM, then SIGKILL after `graceMs`, always to the whole group. */
export async function stopDaemon(d: Daemon, graceMs = 15_000): Promise<void> {
  if (!d.alive()) return
  d.signal('SIGTERM')
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(resolve, graceMs, 'timeout')
  })
  const outcome = await Promise.race([d.exited, timeout])
  clearTimeout(timer)
  if (outcome === 'timeout') {
    d.signal('SIGKILL')
    await d.exited
  }
}

export async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; runAs?: RunAs } = {},
): Promise<string> {
  try {
    const { stdout } = await execFileAsync(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      uid: opts.runAs?.uid,
      gid: opts.runAs?.gid,
      maxBuffer: 64 * 1024 * 1024,
    })
    return stdout
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string }
    const detail = (e.stderr || e.stdout || '').toString().trim().split('\n').slice(-15).join('\n')
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.message}\n${detail}`)
  }
}

/**
 * Maven's option that keeps its repository (the plugin and every jar it fetched) inside the cache folder
 * instead of ~/.m2, so that STOCKFLOW_CACHE_DIR holds everything the stack downloaded, and removing it
 * removes all of it.
 */
export function mavenRepo(cacheDir: string): string {
  return `-Dmaven.repo.local=${join(cacheDir, 'maven')}`
}

export async function which(cmd: string): Promise<string | undefined> {
  try {
    return (await run('sh', ['-c', `command -v ${cmd}`])).trim() || undefined
  } catch {
    return undefined
  }
}

/**
 * Polls `probe` until it returns a value or the deadline passes. The daemon, when given,
 * turns an early exit into an immediate failure instead of a long timeout.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  opts: { timeoutMs: number; intervalMs?: number; daemon?: Daemon; logFile?: string },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs
  let lastErr: unknown
  while (Date.now() < deadline) {
    if (opts.daemon && !opts.daemon.alive()) {
      throw new Error(`${what}: process exited before it was ready; see ${opts.logFile ?? 'its log'}`)
    }
    try {
      const v = await probe()
      if (v !== undefined) return v
    } catch (err) {
      lastErr = err
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200))
  }
  const reason = lastErr instanceof Error ? `: ${lastErr.message}` : ''
  throw new Error(`${what}: not ready after ${opts.timeoutMs} ms${reason}; see ${opts.logFile ?? 'its log'}`)
}
