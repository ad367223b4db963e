// Delivers pending alerts to the sink. Each pass claims its alerts with FOR UPDATE SKIP LOCKED and a
// lease (next_attempt_at pushed past the send's timeout), so two alerters never send one alert twice;
// an alerter that dies mid-send leaves the lease to expire and another one takes the alert over.
// A receiver that refuses for good (4xx), or N failed attempts, ends the alert as `failed`, logged loudly.
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

/** One pass; true when it claimed a full page (more may be due now). */
export function createDelivery(deps: DeliveryDeps): () => Promise<boolean> {
  const { sql, log, config } = deps
  const page = 50
  return async function deliverDue() {
    const now = deps.clock()
    const leaseMs = config.webhookTimeoutMs * 2 + 1000
    const due = await claimDue(sql, now, leaseMs, page)
    for (const a of due) {
      if (!deps.sink) {
        await markSent(sql, a.alert_id)
        continue
      }
      try {
        await deps.sink.send(a)
        await markSent(sql, a.alert_id)
        deps.onAlert?.('sent')
      } catch (err) {
        const attempt = a.attempts + 1
        const reason = (err as Error).message
        if (!isRetriable(err) || attempt >= config.webhookMaxAttempts) {
          await markGivenUp(sql, a.alert_id, reason)
          deps.onAlert?.('given-up')
          log.error(
            { err, alertId: a.alert_id, key: a.alert_key, attempt, text: a.text },
            'alert could not be delivered and was given up; it stays in the alerts table as failed',
          )
          continue
        }
        const retryAt = deps.clock() + scheduleDelayMs(config.webhookRetryMs, attempt)
        await markFailed(sql, a.alert_id, reason, retryAt)
        deps.onAlert?.('failed')
        log.warn(
          { err, alertId: a.alert_id, attempt, retryAt: new Date(retryAt) },
          'webhook failed; alert kept for retry',
        )
      }
    }
    return due.length === page
  }
}
