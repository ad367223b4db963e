// The HTTP webhook sink: a JSON body whose `text` Slack-compatible receivers show as the message.
import { AppError } from '../lib/errors.ts'
import type { AlertRow } from './alert-store.ts'

export interface Sink {
  send(alert: AlertRow): Promise<void>
}

/**
 * Alert text quotes input (file names, CSV cells): Slack's control characters are escaped so `<!channel>`
 * cannot ping and `<url|label>` cannot plant a disguised link, and bare @-mentions are broken with a
 * word joiner. Slack renders the escapes as the original characters.
 */
export function slackSafe(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/@(channel|here|everyone)\b/gi, '@\u2060$1')
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
            text: `${icon} stockflow: ${slackSafe(alert.text)}`,
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
        // 429 and 5xx say "later"; any other answer (a revoked hook's 404, a 400) will not change by retrying.
        const later = res.status === 429 || res.status === 408 || res.status >= 500
        throw new AppError('SINK_FAILED', `webhook answered HTTP ${res.status}`, {
          retriable: later,
          context: { status: res.status },
        })
      }
    },
  }
}
