// Backoff helpers. Whether to retry is the error's own verdict (AppError.retriable), not the caller's guess.
import { deniedAccess, isRetriable } from './errors.ts'

export interface RetryOptions {
  /** Attempts in all, including the first. Infinity retries until aborted. */
  attempts: number
  baseMs: number
  maxMs: number
  signal?: AbortSignal
  shouldRetry?: (err: unknown) => boolean
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void
}

/** Exponential backoff with full jitter: spreads out reconnect storms after a shared outage. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}

/** The delay before attempt `attempt + 1` from a fixed schedule; the last step repeats. */
export function scheduleDelayMs(schedule: readonly number[], attempt: number): number {
  if (schedule.length === 0) return 0
  return schedule[Math.min(Math.max(attempt - 1, 0), schedule.length - 1)]!
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const t = setTimeout(done, ms)
    function done() {
      clearTimeout(t)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}

export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const shouldRetry = opts.shouldRetry ?? isRetriable
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt)
    } catch (err) {
      if (attempt >= opts.attempts || !shouldRetry(err) || opts.signal?.aborted) throw err
      const delay = backoffMs(attempt, opts.baseMs, opts.maxMs)
      opts.onRetry?.(err, attempt, delay)
      await sleep(delay, opts.signal)
      if (opts.signal?.aborted) throw err
    }
  }
}

/**
 * Waits for a dependency at start-up (Postgres or the broker may be restarting), with backoff and a warning
 * per attempt, rather than exiting. Only an error that no wait can fix (a schema that is not migrated, bad
 * config) ends the start-up.
 */
export function whenReady<T>(
  what: string,
  fn: () => Promise<T>,
  log: { warn(obj: object, msg: string): void },
): Promise<T> {
  return retry(fn, {
    attempts: Number.POSITIVE_INFINITY,
    baseMs: 500,
    maxMs: 10_000,
    shouldRetry: (err) => isRetriable(err) || (kafkaOutage(err) && !deniedAccess(err)),
    onRetry: (err, attempt, delayMs) =>
      log.warn({ err, attempt, delayMs }, `${what} not reachable yet; waiting`),
  })
}

const kafkaOutage = (err: unknown) => ((err as Error)?.name ?? '').startsWith('KafkaJS')

/** A sleep that a producer of work can cut short, e.g. so side events go out right after their commit. */
export interface Waker {
  wake(): void
  wait(ms: number, signal: AbortSignal): Promise<void>
}

export function createWaker(): Waker {
  let wakeUp: (() => void) | undefined
  let pending = false
  return {
    wake() {
      if (wakeUp) wakeUp()
      else pending = true
    },
    wait(ms, signal) {
      if (pending || signal.aborted) {
        pending = false
        return Promise.resolve()
      }
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer)
          signal.removeEventListener('abort', done)
          wakeUp = undefined
          resolve()
        }
        const timer = setTimeout(done, ms)
        wakeUp = done
        signal.addEventListener('abort', done, { once: true })
      })
    },
  }
}

export interface LoopOptions {
  name: string
  everyMs: number
  signal: AbortSignal
  /** Returns true when there is more work right away. */
  step: () => Promise<boolean>
  onError: (err: unknown, failures: number) => void
  waker?: Waker
}

/** Runs `step` until the signal aborts: again at once while it has more work, else after `everyMs` or a wake-up. */
export async function runLoop(o: LoopOptions): Promise<void> {
  const waker = o.waker ?? createWaker()
  let failures = 0
  while (!o.signal.aborted) {
    try {
      const more = await o.step()
      failures = 0
      if (!more) await waker.wait(o.everyMs, o.signal)
    } catch (err) {
      failures++
      o.onError(err, failures)
      await sleep(backoffMs(failures, o.everyMs, 10_000), o.signal)
    }
  }
}
