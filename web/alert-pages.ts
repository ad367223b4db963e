// Alerts: what the alerter told people and whether it reached them, grouped by day and family (one code,
// import rejections, low stock) so a burst of similar alerts reads as one line with a count; the alerts
// themselves are folded under it, and each says where in the console to act on it.
import type { FastifyInstance } from 'fastify'
import { alertAbout, alertActions, familySummary } from './alert-groups.ts'
import { one, paging, parsePage } from './stock-query.ts'
import type { WebDeps } from './web-deps.ts'

/** Groups per page. */
export const ALERT_GROUPS_PAGE = 20
/** Alerts listed inside a group; the group's count and the Errors page have the rest. */
export const ALERTS_PER_GROUP = 25

/** alertFamily (alert-groups.ts) in SQL, so that Postgres groups and pages; the two must agree. */
const ALERT_FAMILY_SQL = `case when alert_key like 'import:%' then 'import'
  when alert_key ~ '^process:[A-Z0-9_]+:' then 'process:' || split_part(alert_key, ':', 2)
  else alert_key end`
const DAY_SQL = `(created_at at time zone 'UTC')::date`

interface GroupRow {
  day: string
  family: string
  kind: string
  n: number
  keys: number
  first_at: Date
  last_at: Date
  critical: number
  pending: number
  sent: number
  throttled: number
  failed: number
  latest_text: string
}

export async function registerAlertPages(app: FastifyInstance, deps: WebDeps): Promise<void> {
  const { sql } = deps

  app.get('/alerts', async (req, reply) => {
    const problems: string[] = []
    const page = parsePage(one(req.query as Record<string, string>, 'page'), problems)
    const [[{ total, groups: groupTotal }], counts] = (await Promise.all([
      sql`
        select count(*)::int as total, count(distinct (${sql.unsafe(DAY_SQL)}, ${sql.unsafe(ALERT_FAMILY_SQL)}))::int as groups
        from alert_history`,
      sql`select status, count(*)::int as n from alert_history group by status order by status`,
    ])) as unknown as [[{ total: number; groups: number }], { status: string; n: number }[]]
    const pg = paging(groupTotal, page, ALERT_GROUPS_PAGE)
    const groups = (await sql`
      select ${sql.unsafe(DAY_SQL)}::text as day, ${sql.unsafe(ALERT_FAMILY_SQL)} as family, min(kind) as kind,
             count(*)::int as n, count(distinct alert_key)::int as keys,
             min(created_at) as first_at, max(created_at) as last_at,
             count(*) filter (where severity = 'critical')::int as critical,
             count(*) filter (where status = 'pending')::int as pending,
             count(*) filter (where status = 'sent')::int as sent,
             count(*) filter (where status = 'throttled')::int as throttled,
             count(*) filter (where status = 'failed')::int as failed,
             (array_agg(text order by created_at desc, alert_id))[1] as latest_text
      from alert_history
      group by 1, 2
      order by 1 desc, max(created_at) desc, 2
      limit ${ALERT_GROUPS_PAGE} offset ${pg.offset}`) as unknown as GroupRow[]

    const days = [...new Set(groups.map((g) => g.day))]
    const alerts =
      days.length === 0
        ? []
        : await sql`
            select x.*, imp.id as import_id
            from (
              select alert_id, kind, alert_key, severity, text, item_count, status, attempts, created_at, sent_at,
                     next_attempt_at, last_error, ${sql.unsafe(DAY_SQL)}::text as day,
                     ${sql.unsafe(ALERT_FAMILY_SQL)} as family,
                     row_number() over (partition by ${sql.unsafe(DAY_SQL)}, ${sql.unsafe(ALERT_FAMILY_SQL)}
                                        order by created_at desc, alert_id) as place
              from alert_history
              where ${sql.unsafe(DAY_SQL)} = any(${days}::date[])
            ) x
            -- The import the alert's file was recorded under: the one nearest the alert in time.
            left join lateral (
              select i.id from import_history i
              where x.alert_key like 'import:%' and i.file_name = substr(x.alert_key, 8)
              order by abs(extract(epoch from i.recorded_at - x.created_at)) limit 1
            ) imp on true
            where x.place <= ${ALERTS_PER_GROUP}
            order by x.created_at desc, x.alert_id`
    const byGroup = new Map<string, Record<string, unknown>[]>()
    for (const a of alerts) {
      const k = `${a.day}\0${a.family}`
      const list = byGroup.get(k) ?? []
      list.push({
        ...a,
        about: alertAbout(a.alert_key as string),
        actions: alertActions(a.alert_key as string, a.import_id === null ? undefined : Number(a.import_id)),
      })
      byGroup.set(k, list)
    }
    return reply.page('alerts', 'Alerts', {
      total,
      counts,
      groups: groups.map((g) => ({
        ...g,
        ...familySummary(g.family),
        alerts: byGroup.get(`${g.day}\0${g.family}`) ?? [],
      })),
      paging: pg,
      problems,
      perGroup: ALERTS_PER_GROUP,
      pageLink: (p: number) => (p === 1 ? '/alerts' : `/alerts?page=${p}`),
    })
  })
}
