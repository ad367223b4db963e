// The HTTP webhook sink: a JSON body whose `text` Slack-compatible receivers show as the message.
import { AppError } from '../lib/errors.ts'
import type { AlertRow } from './alert-store.ts'

export interface Sink {
  send(alert: AlertRow): Promise<void>
}

export function createWebhookSink(url: string, timeoutMs: number): Sink {
  return {
    async send(alert) {
      const icon = alert.severity === 'critical' ? ':rotating_light:' : ':warning:'
      let res: Response
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            text: `${icon} stockflow: ${alert.text}`,
            alert_id: alert.alert_id,
            kind: alert.kind,
            key: alert.alert_key,
            severity: alert.severity,
            count: alert.item_count,
          }),
          signal: AbortSignal.timeout(timeoutMs),
        })
      } catch (err) {
        throw new AppError('SINK_FAILED', `webhook unreachable: ${(err as Error).message}`, {
          retriable: true,
          cause: err,
        })
      }
      if (!res.ok) {
        throw new AppError('SINK_FAILED', `webhook answered HTTP ${res.status}`, {
          retriable: true,
          context: { status: res.status },
        })
      }
    },
  }
}
