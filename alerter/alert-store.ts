// SQL for the alerter: dedupe, pending items, grouped alerts and their delivery state.
import { chunks, type Sql, type Tx } from '../lib/db.ts'
import { movementKey } from '../schemas/contract.ts'
import type { LevelNow, LowStockMark, LowStockSighting } from './low-stock-digest.ts'
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
      file_claim: i.fileClaim ?? null,
      source_line: i.sourceLine ?? null,
      store_number: i.lowStock?.store ?? null,
      item_number: i.lowStock?.item ?? null,
      episode: i.lowStock?.episode ?? null,
    }))
  for (const chunk of chunks(rows)) await tx`insert into alert_pending ${tx(chunk)}`
  return rows.length
}

/** What the importer recorded for a file once it was done with it: the true count of its rejected rows. */
export interface FileOutcome {
  id: string
  /** The file failed as a whole after its rows were read (PUBLISH_REFUSED): no rejected-rows file. */
  failed: boolean
  rowsRejected: number
  rejectedByCode: Record<string, number>
  rejectedCsv: string | null
}

export type DueGroup = PendingGroup & {
  ids: string[]
  outcome?: FileOutcome
  /** Low-stock events: every one of the window, not only the first lines. */
  sightings?: LowStockSighting[]
}

/**
 * Groups whose oldest item is older than the digest window, removed from pending in the same transaction.
 * A file's rejected rows also wait for the outcome of their import (all its rows are on `errors` by then),
 * or for `holdMs` at most, so that one import of a file gives one alert with one count.
 */
export async function takeDueGroups(
  tx: Tx,
  windowMs: number,
  holdMs: number,
  now: number,
): Promise<DueGroup[]> {
  const rows = await tx`
    delete from alert_pending p
    using (select g.alert_key, g.claim
           from (select alert_key, coalesce(file_claim, '') as claim, min(received_at) as first
                 from alert_pending group by 1, 2) g
           where g.first <= ${new Date(now - windowMs)}
             and (g.claim = '' or g.first <= ${new Date(now - Math.max(windowMs, holdMs))}
                  or exists (select 1 from import_outcomes o where o.claim_key = g.claim))) due
    where p.alert_key = due.alert_key and coalesce(p.file_claim, '') = due.claim
    returning p.source_id, p.alert_key, p.kind, p.severity, p.line, p.code, p.received_at, p.file_claim,
              p.source_line, p.store_number, p.item_number, p.episode`
  const groups = new Map<string, DueGroup & { claim: string | null }>()
  for (const r of rows.sort(
    (a, b) => (a.received_at as Date).getTime() - (b.received_at as Date).getTime(),
  )) {
    const k = `${r.alert_key}\u0000${r.file_claim ?? ''}`
    let g = groups.get(k)
    if (!g) {
      g = {
        key: r.alert_key,
        kind: r.kind,
        severity: r.severity,
        lines: [],
        count: 0,
        codes: {},
        rows: 0,
        ids: [],
        claim: r.file_claim,
      }
      groups.set(k, g)
    }
    g.count++
    if (r.code) g.codes[r.code] = (g.codes[r.code] ?? 0) + 1
    if (r.source_line !== null) g.rows = (g.rows ?? 0) + 1
    if (r.store_number !== null) {
      g.sightings ??= []
      g.sightings.push({
        sourceId: r.source_id,
        line: r.line,
        severity: r.severity,
        store: r.store_number,
        item: r.item_number,
        episode: r.episode,
      })
    }
    g.ids.push(r.source_id)
    if (g.lines.length < 5) g.lines.push(r.line)
    if (r.severity === 'critical') g.severity = 'critical'
  }
  for (const g of groups.values()) {
    if (!g.claim) continue
    const [o] = await tx`
      select id::text, status, rows_rejected, rejected_by_code, rejected_csv from import_outcomes
      where claim_key = ${g.claim}`
    if (o) {
      g.outcome = {
        id: o.id as string,
        failed: o.status === 'failed',
        rowsRejected: Number(o.rows_rejected),
        rejectedByCode: o.rejected_by_code as Record<string, number>,
        rejectedCsv: o.rejected_csv as string | null,
      }
    }
  }
  return [...groups.values()]
}

/**
 * The ledger's low-stock episode state of these items now, by store:item: the processor's own record of
 * whether an episode has ended, which no event carries. Items the ledger has no row for are absent.
 */
export async function lowStateNow(tx: Tx, marks: readonly LowStockMark[]): Promise<Map<string, LevelNow>> {
  const keys = [...new Map(marks.map((m) => [movementKey(m.store, m.item), m])).values()]
  if (keys.length === 0) return new Map()
  const stores = keys.map((k) => k.store)
  const items = keys.map((k) => k.item)
  const rows = await tx`
    select l.store_number, l.item_number, l.low_state, l.low_episode
    from stock_levels l
    join unnest(${stores}::int[], ${items}::int[]) as k(store_number, item_number) using (store_number, item_number)`
  return new Map(
    rows.map((r) => [
      movementKey(r.store_number, r.item_number),
      { lowState: r.low_state as number, lowEpisode: r.low_episode as number },
    ]),
  )
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

/** Inserts the alert unless one with its id exists; returns whether it was new. */
export async function insertAlert(
  tx: Tx,
  a: Omit<AlertRow, 'attempts'> & { source_ids: string[]; status: 'pending' | 'throttled'; now: number },
): Promise<boolean> {
  const inserted = await tx`
    insert into alerts (alert_id, kind, alert_key, severity, text, source_ids, status, item_count, created_at, next_attempt_at)
    values (${a.alert_id}, ${a.kind}, ${a.alert_key}, ${a.severity}, ${a.text}, ${a.source_ids}, ${a.status},
            ${a.item_count}, ${new Date(a.now)}, ${a.status === 'pending' ? new Date(a.now) : null})
    on conflict (alert_id) do nothing returning 1`
  return inserted.length > 0
}

/**
 * Claims one due alert: locked rows of another alerter are skipped, and the claimed one gets a lease
 * (next_attempt_at moved `leaseMs` ahead, long enough for one send) and a fresh token. Marking it sent or
 * failed later needs the same token: an alerter that outlived its lease finds the alert taken over and
 * leaves it to the new owner.
 */
export async function claimDue(
  sql: Sql,
  now: number,
  leaseMs: number,
  token: string,
): Promise<AlertRow | undefined> {
  const [row] = (await sql`
    update alerts a set next_attempt_at = ${new Date(now + leaseMs)}, lease_token = ${token}
    from (select alert_id from alerts
          where status = 'pending' and next_attempt_at <= ${new Date(now)}
          order by next_attempt_at limit 1
          for update skip locked) due
    where a.alert_id = due.alert_id
    returning a.alert_id, a.kind, a.alert_key, a.severity, a.text, a.attempts, a.item_count`) as unknown as AlertRow[]
  return row
}

/** The receiver refused for good, or every attempt failed: the alert ends as `failed`. False: lease lost. */
export async function markGivenUp(sql: Sql, id: string, token: string, error: string): Promise<boolean> {
  const rows = await sql`
    update alerts set status = 'failed', attempts = attempts + 1, last_error = ${error}, next_attempt_at = null,
                      lease_token = null
    where alert_id = ${id} and lease_token = ${token} and status = 'pending' returning 1`
  return rows.length > 0
}

/** False when the lease was lost meanwhile (the alert was taken over by another alerter). */
export async function markSent(sql: Sql, id: string, token: string): Promise<boolean> {
  const rows = await sql`
    update alerts set status = 'sent', sent_at = now(), attempts = attempts + 1, last_error = null, lease_token = null
    where alert_id = ${id} and lease_token = ${token} and status = 'pending' returning 1`
  return rows.length > 0
}

export async function markFailed(
  sql: Sql,
  id: string,
  token: string,
  error: string,
  retryAt: number,
): Promise<boolean> {
  const rows = await sql`
    update alerts set attempts = attempts + 1, last_error = ${error}, next_attempt_at = ${new Date(retryAt)},
                      lease_token = null
    where alert_id = ${id} and lease_token = ${token} and status = 'pending' returning 1`
  return rows.length > 0
}
