// SQL for the alerter: dedupe, pending items, grouped alerts and their delivery state.
import { chunks, type Sql, type Tx } from '../lib/db.ts'
import type { AlertItem, PendingGroup } from './rules.ts'

/** Records items not seen before as pending; returns how many were new. Redeliveries are dropped here. */
export async function addPending(tx: Tx, items: AlertItem[], seenOnly: string[]): Promise<number> {
  const ids = [...items.map((i) => i.sourceId), ...seenOnly]
  if (ids.length === 0) return 0
  const fresh = await tx`
    insert into alert_seen (source_id) select distinct unnest(${ids}::text[])
    on conflict do nothing returning source_id`
  const isFresh = new Set(fresh.map((r) => r.source_id as string))
  // A batch may carry one id twice; the first copy is the one kept.
  const rows = items
    .filter((i) => isFresh.delete(i.sourceId))
    .map((i) => ({
      source_id: i.sourceId,
      alert_key: i.key,
      kind: i.kind,
      severity: i.severity,
      line: i.line,
      code: i.code ?? null,
    }))
  for (const chunk of chunks(rows)) await tx`insert into alert_pending ${tx(chunk)}`
  return rows.length
}

/** Groups whose oldest item is older than the digest window, removed from pending in the same transaction. */
export async function takeDueGroups(
  tx: Tx,
  windowMs: number,
  now: number,
): Promise<(PendingGroup & { ids: string[] })[]> {
  const rows = await tx`
    delete from alert_pending p
    using (select alert_key from alert_pending group by alert_key
           having min(received_at) <= ${new Date(now - windowMs)}) due
    where p.alert_key = due.alert_key
    returning p.source_id, p.alert_key, p.kind, p.severity, p.line, p.code, p.received_at`
  const groups = new Map<string, PendingGroup & { ids: string[]; at: number[] }>()
  for (const r of rows.sort(
    (a, b) => (a.received_at as Date).getTime() - (b.received_at as Date).getTime(),
  )) {
    let g = groups.get(r.alert_key)
    if (!g) {
      g = {
        key: r.alert_key,
        kind: r.kind,
        severity: r.severity,
        lines: [],
        count: 0,
        codes: {},
        ids: [],
        at: [],
      }
      groups.set(r.alert_key, g)
    }
    g.count++
    if (r.code) g.codes[r.code] = (g.codes[r.code] ?? 0) + 1
    g.ids.push(r.source_id)
    if (g.lines.length < 5) g.lines.push(r.line)
    if (r.severity === 'critical') g.severity = 'critical'
  }
  return [...groups.values()]
}

export async function recentlyAlerted(
  tx: Tx,
  key: string,
  throttleMs: number,
  now: number,
): Promise<boolean> {
  if (throttleMs <= 0) return false
  const rows = await tx`
    select 1 from alerts where alert_key = ${key} and status <> 'throttled' and created_at > ${new Date(now - throttleMs)} limit 1`
  return rows.length > 0
}

export interface AlertRow {
  alert_id: string
  kind: string
  alert_key: string
  severity: string
  text: string
  attempts: number
  item_count: number
}

export async function insertAlert(
  tx: Tx,
  a: Omit<AlertRow, 'attempts'> & { source_ids: string[]; status: 'pending' | 'throttled'; now: number },
): Promise<void> {
  await tx`
    insert into alerts (alert_id, kind, alert_key, severity, text, source_ids, status, item_count, created_at, next_attempt_at)
    values (${a.alert_id}, ${a.kind}, ${a.alert_key}, ${a.severity}, ${a.text}, ${a.source_ids}, ${a.status},
            ${a.item_count}, ${new Date(a.now)}, ${a.status === 'pending' ? new Date(a.now) : null})
    on conflict (alert_id) do nothing`
}

/**
 * Claims up to `limit` due alerts: locked rows of another alerter are skipped, and the claimed ones get a
 * lease (next_attempt_at moved `leaseMs` ahead) so nobody else takes them while they are being sent.
 */
export async function claimDue(sql: Sql, now: number, leaseMs: number, limit: number): Promise<AlertRow[]> {
  return (await sql`
    update alerts a set next_attempt_at = ${new Date(now + leaseMs)}
    from (select alert_id from alerts
          where status = 'pending' and next_attempt_at <= ${new Date(now)}
          order by next_attempt_at limit ${limit}
          for update skip locked) due
    where a.alert_id = due.alert_id
    returning a.alert_id, a.kind, a.alert_key, a.severity, a.text, a.attempts, a.item_count`) as unknown as AlertRow[]
}

/** The receiver refused for good, or every attempt failed: the alert ends as `failed`. */
export async function markGivenUp(sql: Sql, id: string, error: string): Promise<void> {
  await sql`
    update alerts set status = 'failed', attempts = attempts + 1, last_error = ${error}, next_attempt_at = null
    where alert_id = ${id}`
}

export async function markSent(sql: Sql, id: string): Promise<void> {
  await sql`update alerts set status = 'sent', sent_at = now(), attempts = attempts + 1, last_error = null where alert_id = ${id}`
}

export async function markFailed(sql: Sql, id: string, error: string, retryAt: number): Promise<void> {
  await sql`
    update alerts set attempts = attempts + 1, last_error = ${error}, next_attempt_at = ${new Date(retryAt)}
    where alert_id = ${id}`
}
