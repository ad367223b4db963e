// `stockflow start` must not outlive what started it. Signals do not always arrive: npm runs the command
// through `sh -c`, and when npm is terminated the shell can die without passing anything on, leaving
// start (and the stack it owns) orphaned under init. So the ancestors that started it are watched: the
// parent, and, when npm ran it, every process up to npm itself. Any of them gone means stop.
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { parseStat } from '../infra/processes.ts'

export interface Ancestor {
  pid: number
  ppid: number
  startTime: number
  /** argv as /proc/PID/cmdline gives it (npm rewrites its own to `npm start` or the like). */
  argv: string[]
}

/** How many generations are looked at for npm: npm → sh → (the launcher, on an old Node) → start. */
const NPM_DEPTH = 4

function isNpm(a: Ancestor, npmExecPath: string | undefined): boolean {
  const [first, second] = a.argv
  if (first !== undefined && /^npm(\.cmd)?$/.test(basename(first.split(' ')[0]!))) return true
  return npmExecPath !== undefined && (first === npmExecPath || second === npmExecPath)
}

/**
 * Which of the ancestors (the parent first) to watch: up to and including npm when npm ran this
 * (`npm_execpath` set) and is found within a few generations, else the parent alone. Never init.
 */
export function ancestorsToWatch(chain: readonly Ancestor[], npmExecPath: string | undefined): Ancestor[] {
  const mortal = chain.filter((a) => a.pid > 1)
  if (npmExecPath !== undefined) {
    const npmAt = mortal.slice(0, NPM_DEPTH).findIndex((a) => isNpm(a, npmExecPath))
    if (npmAt >= 0) return mortal.slice(0, npmAt + 1)
  }
  return mortal.slice(0, 1)
}

/** The process as /proc shows it now; undefined when it is gone or a zombie (dead, not yet reaped). */
export function readAncestor(pid: number): Ancestor | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    if (state === 'Z' || state === 'X') return undefined
    const { ppid, startTime } = parseStat(stat)
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)
    return { pid, ppid, startTime, argv }
  } catch {
    return undefined
  }
}

/** The chain of ancestors from the parent up, as far as /proc shows (at most NPM_DEPTH). */
export function readAncestry(ppid: number): Ancestor[] {
  const chain: Ancestor[] = []
  for (let pid = ppid; pid > 1 && chain.length < NPM_DEPTH; ) {
    const a = readAncestor(pid)
    if (!a) break
    chain.push(a)
    pid = a.ppid
  }
  return chain
}

/**
 * Calls `onGone` once, with a description, when the parent changes (this process was re-parented) or a
 * watched ancestor is no longer the process it was. Returns a function that stops watching.
 */
export function watchParent(
  onGone: (why: string) => void,
  opts: { npmExecPath?: string; intervalMs?: number } = {},
): () => void {
  const parent = process.ppid
  const watched = ancestorsToWatch(readAncestry(parent), opts.npmExecPath)
  const timer = setInterval(() => {
    let why: string | undefined
    if (process.ppid !== parent) why = `the process that started it (pid ${parent}) is gone`
    const gone = watched.find((a) => readAncestor(a.pid)?.startTime !== a.startTime)
    if (why === undefined && gone !== undefined)
      why = `${basename(gone.argv[0]?.split(' ')[0] ?? 'a process')} (pid ${gone.pid}), which started it, is gone`
    if (why === undefined) return
    clearInterval(timer)
    onGone(why)
  }, opts.intervalMs ?? 1000)
  // Only a watch: it must not keep a process alive that has nothing else to do.
  timer.unref()
  return () => clearInterval(timer)
}
