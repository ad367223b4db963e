// Backoff helpers. Whether to retry is the error's own verdict (AppError.retriable), not the caller's guess.
import { isRetriable } from './errors.ts'

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
