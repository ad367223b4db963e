// Alerts (what people were told, and whether it reached them) and Pipeline (readiness, lag, throughput,
// parked sales and the outbox backlog): the questions an operator asks before opening a terminal.
import type { FastifyInstance } from 'fastify'
import { barChart, fillMinutes } from './chart.ts'
import { one, paging, parsePage } from './stock-query.ts'
import type { ServiceReadiness, WebDeps } from './web-deps.ts'

/** Minutes of throughput the Pipeline page charts. */
export const THROUGHPUT_MINUTES = 15

/** Probes each service's /readyz; a service that does not answer within a second is shown as down. */
export async function probeServices(
  targets: { service: string; url: string }[],
  timeoutMs = 1000,
): Promise<ServiceReadiness[]> {
  return Promise.all(
    targets.map(async ({ service, url }) => {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
        const body = await res.text()
        return {
          service,
          url,
          ready: res.ok,
          detail: res.ok ? 'ready' : body.slice(0, 200) || `HTTP ${res.status}`,
        }
      } catch (err) {
        return { service, url, ready: false, detail: `not reachable (${(err as Error).message})` }
      }
    }),
  )
}

export async function registerPipelinePages(app: FastifyInstance, deps: WebDeps): Promise<void> {
  const { sql, config } = deps

  app.get('/alerts', async (req, reply) => {
    const problems: string[] = []
    const page = parsePage(one(req.query as Record<string, string>, 'page'), problems)
    const [[{ total }], counts] = (await Promise.all([
      sql`select count(*)::int as total from alert_history`,
      sql`select status, count(*)::int as n from alert_history group by status order by status`,
    ])) as unknown as [[{ total: number }], { status: string; n: number }[]]
    const pg = paging(total, page, config.web.pageSize)
    const rows = await sql`
      select alert_id, kind, alert_key, severity, text, item_count, status, attempts, created_at, sent_at,
             next_attempt_at, last_error
      from alert_history order by created_at desc, alert_id limit ${config.web.pageSize} offset ${pg.offset}`
    return reply.page('alerts', 'Alerts', {
      rows,
      counts,
      paging: pg,
      problems,
      pageLink: (p: number) => (p === 1 ? '/alerts' : `/alerts?page=${p}`),
    })
  })

  app.get('/pipeline', async (_req, reply) => {
    const [readiness, lag, [backlog], perMinute] = await Promise.all([
      deps.pipeline.readiness(),
      deps.pipeline.lag().catch((err: Error) => err),
      sql`select parked, outbox_unsent, outbox_oldest from pipeline_backlog`,
      sql`
        select date_trunc('minute', applied_at) as minute, count(*)::int as count
        from journal_entries
        where applied_at > now() - make_interval(mins => ${THROUGHPUT_MINUTES})
        group by 1`,
    ])
    const buckets = fillMinutes(
      perMinute.map((r) => ({ minute: r.minute as Date, count: r.count as number })),
      deps.clock(),
      THROUGHPUT_MINUTES,
    )
    const lastMinute = buckets.at(-1)?.count ?? 0
    return reply.page('pipeline', 'Pipeline', {
      readiness,
      lag: lag instanceof Error ? undefined : lag,
      lagError: lag instanceof Error ? lag.message : undefined,
      backlog,
      chart: barChart(buckets),
      applied: buckets.reduce((n, b) => n + b.count, 0),
      lastMinute,
      minutes: THROUGHPUT_MINUTES,
    })
  })
}
