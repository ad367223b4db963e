// Delivers pending alerts to the sink. Each alert is claimed alone, with FOR UPDATE SKIP LOCKED, a lease
// (next_attempt_at pushed past one send's timeout) and a token, so two alerters never send one alert
// twice; an alerter that dies mid-send leaves the lease to expire and another one takes the alert over,
// and one that outlived its lease cannot mark the alert any more.
// A receiver that refuses for good (4xx), or N failed attempts, ends the alert as `failed`, logged loudly.
import { randomUUID } from 'node:crypto'
import type { Config } from '../lib/config.ts'
import type { Sql } from '../lib/db.ts'
import { isRetriable } from '../lib/errors.ts'
import type { Logger } from '../lib/log.ts'
import { scheduleDelayMs } from '../lib/retry.ts'
import { claimDue, markFailed, markGivenUp, markSent } from './alert-store.ts'
import type { Sink } from './webhook.ts'

export interface DeliveryDeps {
  sql: Sql
  /** Undefined: alerts go to the log only, and count as delivered. */
  sink?: Sink
  log: Logger
  clock: () => number
  config: Pick<Config['alerter'], 'webhookRetryMs' | 'webhookTimeoutMs' | 'webhookMaxAttempts'>
  onAlert?: (outcome: 'sent' | 'failed' | 'given-up') => void
}

/** One pass over up to a page of due alerts, each claimed alone; true when the page was full (more may be due). */
export function createDelivery(deps: DeliveryDeps): () => Promise<boolean> {
  const { sql, log, config } = deps
  const page = 50
  // The lease covers one send: its timeout, and as long again for Postgres and the clock.
  const leaseMs = config.webhookTimeoutMs * 2 + 1000
  const lost = (alertId: string, what: string) =>
    log.warn({ alertId }, `alert lease lost before it was marked ${what}; another alerter has taken it over`)

  return async function deliverDue() {
    let handled = 0
    for (; handled < page; handled++) {
      const token = randomUUID()
      const a = await claimDue(sql, deps.clock(), leaseMs, token)
      if (!a) break
      if (!deps.sink) {
        if (!(await markSent(sql, a.alert_id, token))) lost(a.alert_id, 'sent')
        continue
      }
      try {
        await deps.sink.send(a)
        if (!(await markSent(sql, a.alert_id, token))) lost(a.alert_id, 'sent')
        deps.onAlert?.('sent')
      } catch (err) {
        const attempt = a.attempts + 1
        const reason = (err as Error).message
        if (!isRetriable(err) || attempt >= config.webhookMaxAttempts) {
          if (!(await markGivenUp(sql, a.alert_id, token, reason))) lost(a.alert_id, 'failed')
          deps.onAlert?.('given-up')
          log.error(
            { err, alertId: a.alert_id, key: a.alert_key, attempt, text: a.text },
            'alert could not be delivered and was given up; it stays in the alerts table as failed',
          )
          continue
        }
        const retryAt = deps.clock() + scheduleDelayMs(config.webhookRetryMs, attempt)
        if (!(await markFailed(sql, a.alert_id, token, reason, retryAt))) lost(a.alert_id, 'for retry')
        deps.onAlert?.('failed')
        log.warn(
          { err, alertId: a.alert_id, attempt, retryAt: new Date(retryAt) },
          'webhook failed; alert kept for retry',
        )
      }
    }
    return handled === page
  }
}
