// How the Alerts page groups and explains alerts. The alerter keys an alert by what it is about
// (alerter/rules.ts: `import:<file>`, `process:<code>:<store>:<item>` or `process:<code>:<topic>`,
// `low-stock`); a day's alerts of one family (a code, import rejections, low stock) are one group on the
// page, and each alert and group says where in the console to act on it, not only which command to run.
import { helpers } from './render.ts'

/** Codes that are fixed by booking or sending what was missing, then re-driving the failed movements. */
const REDRIVE_AFTER_FIX = new Set(['INSUFFICIENT_STOCK', 'UNKNOWN_ITEM', 'UNKNOWN_ORIGINAL', 'STOCK_LIMIT'])
/** Codes about the events topic itself: the Pipeline page shows its offsets and lag. */
const TOPIC_CODES = new Set(['EVENTS_EXPIRED', 'TOPIC_RESET'])

export interface AlertAction {
  label: string
  href: string
}

export type AlertAbout =
  | { kind: 'file'; file: string }
  | { kind: 'item'; code: string; store: number; item: number }
  | { kind: 'code'; code: string; topic: string }
  | { kind: 'low-stock' }
  | { kind: 'other'; key: string }

/** What an alert key names. */
export function alertAbout(key: string): AlertAbout {
  if (key.startsWith('import:')) return { kind: 'file', file: key.slice('import:'.length) }
  if (key === 'low-stock') return { kind: 'low-stock' }
  const item = /^process:([A-Z0-9_]+):(\d{1,10}):(\d{1,10})$/.exec(key)
  if (item) return { kind: 'item', code: item[1]!, store: Number(item[2]), item: Number(item[3]) }
  const topic = /^process:([A-Z0-9_]+):(.*)$/.exec(key)
  if (topic) return { kind: 'code', code: topic[1]!, topic: topic[2]! }
  return { kind: 'other', key }
}

/**
 * The family a key groups under on the page: `import`, `process:<code>`, `low-stock`, else the key.
 * web/alert-pages.ts computes the same in SQL (ALERT_FAMILY_SQL) to group and page in Postgres.
 */
export function alertFamily(key: string): string {
  const about = alertAbout(key)
  switch (about.kind) {
    case 'file':
      return 'import'
    case 'item':
    case 'code':
      return `process:${about.code}`
    case 'low-stock':
      return 'low-stock'
    case 'other':
      return key
  }
}

/**
 * Where to act on one alert. `importId` is the import the alert's file was recorded under, when known: its
 * page lists the rejected rows with their lines and offers them for download.
 */
export function alertActions(key: string, importId?: number): AlertAction[] {
  const about = alertAbout(key)
  switch (about.kind) {
    case 'file':
      return importId === undefined
        ? [{ label: 'Find the file in Imports', href: '/imports' }]
        : [
            {
              label: 'Open its import page: the rejected rows, to fix and drop again',
              href: `/imports/${importId}`,
            },
          ]
    case 'item': {
      const filter = { code: about.code, store: about.store, item: about.item }
      const out: AlertAction[] = [
        { label: 'See the failed movements', href: helpers.href('/errors', filter) },
        { label: 'Open the item', href: `/items/${about.store}/${about.item}` },
      ]
      if (REDRIVE_AFTER_FIX.has(about.code)) {
        out.push({ label: 'Re-drive them once fixed', href: `${helpers.href('/errors', filter)}#redrive-h` })
      }
      return out
    }
    case 'code':
      return TOPIC_CODES.has(about.code)
        ? [{ label: 'Check the offsets on the Pipeline page', href: '/pipeline' }]
        : [{ label: 'See these errors', href: helpers.href('/errors', { code: about.code }) }]
    case 'low-stock':
      return [
        { label: 'See the items low now', href: '/stock?state=low' },
        { label: 'Out of stock', href: '/stock?state=out' },
      ]
    case 'other':
      return []
  }
}

/** What a whole group is, and where to act on all of it at once. */
export function familySummary(family: string): { label: string; actions: AlertAction[] } {
  if (family === 'import') {
    return { label: 'Rows rejected at import', actions: [{ label: 'Imports', href: '/imports' }] }
  }
  if (family === 'low-stock') {
    return { label: 'Low stock', actions: [{ label: 'See the items low now', href: '/stock?state=low' }] }
  }
  const code = /^process:([A-Z0-9_]+)$/.exec(family)?.[1]
  if (!code) return { label: family, actions: [] }
  if (TOPIC_CODES.has(code)) {
    return { label: code, actions: [{ label: 'Pipeline', href: '/pipeline' }] }
  }
  const actions = [{ label: `Errors: ${code}`, href: helpers.href('/errors', { code }) }]
  if (REDRIVE_AFTER_FIX.has(code)) {
    actions.push({
      label: 'Re-drive them once fixed',
      href: `${helpers.href('/errors', { code })}#redrive-h`,
    })
  }
  return { label: code, actions }
}
