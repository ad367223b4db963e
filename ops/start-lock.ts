// One `stockflow start` per folder. A second one used the first one's stack and then crash-looped on the
// ports the first one's services hold; it must refuse instead, naming the first. The lock is a file with
// the owner's pid and start time, created exclusively; one left by a process that is gone (killed, or a
// reboot that reused its pid) is stale and taken over.
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { processStartTime, sameProcessAlive } from '../infra/processes.ts'
import { AppError } from '../lib/errors.ts'

interface LockContent {
  pid: number
  startTime?: number
}

/** The pid of the live owner a lock's text names, or undefined when it names none (stale, torn, foreign). */
export function liveOwner(
  text: string | undefined,
  alive: (pid: number, startTime: number | undefined) => boolean,
): number | undefined {
  if (text === undefined) return undefined
  try {
    const lock = JSON.parse(text) as Partial<LockContent>
    if (typeof lock.pid !== 'number' || !Number.isInteger(lock.pid) || lock.pid <= 0) return undefined
    return alive(lock.pid, typeof lock.startTime === 'number' ? lock.startTime : undefined)
      ? lock.pid
      : undefined
  } catch {
    return undefined
  }
}

function alreadyRunning(pid: number, path: string): AppError {
  return new AppError(
    'ALREADY_RUNNING',
    `stockflow is already running in this folder (pid ${pid}; ${path}). Use that one (its services, ` +
      `console and stack are up), or stop it first: Ctrl-C in its terminal, or kill ${pid}.`,
    { context: { pid, path } },
  )
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/** Takes the lock at `path` for this process; `release` removes it if it is still ours. */
export function acquireStartLock(path: string): { release: () => void } {
  const mine = JSON.stringify({ pid: process.pid, startTime: processStartTime(process.pid) })
  // Two tries: a stale lock is removed once, and a start racing us for it then wins or loses cleanly.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, mine, { flag: 'wx', mode: 0o644 })
      return {
        release: () => {
          if (readText(path) === mine) rmSync(path, { force: true })
        },
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const owner = liveOwner(readText(path), sameProcessAlive)
    if (owner !== undefined && owner !== process.pid) throw alreadyRunning(owner, path)
    rmSync(path, { force: true })
  }
  // Lost the race twice: another start took the lock between our look and our write.
  const owner = liveOwner(readText(path), sameProcessAlive)
  if (owner !== undefined) throw alreadyRunning(owner, path)
  throw new AppError('ALREADY_RUNNING', `another stockflow start is starting in this folder (${path})`, {
    context: { path },
  })
}
