// Pipeline: readiness, files waiting and being imported, lag, throughput, parked sales and the outbox
// backlog: the questions an operator asks before opening a terminal. (Alerts are in alert-pages.ts.)
import type { FastifyInstance } from 'fastify'
import { formatAge, formatBytes, listInputQueue } from '../ledger/input-queue.ts'
import { barTimeTicks } from './bar-time-axis.ts'
import { barChart, fillMinutes } from './chart.ts'
import type { ServiceReadiness, WebDeps } from './web-deps.ts'

/** Minutes of throughput the Pipeline page charts. */
export const THROUGHPUT_MINUTES = 15
/** Files listed per state (waiting, being imported); the page counts the rest. */
export const QUEUE_FILES = 50

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

  app.get('/pipeline', async (_req, reply) => {
    const [readiness, lag, [backlog], perMinute, queue] = await Promise.all([
      deps.pipeline.readiness(),
      deps.pipeline.lag().catch((err: Error) => err),
      sql`select parked, outbox_unsent, outbox_oldest from pipeline_backlog`,
      sql`
        select date_trunc('minute', applied_at) as minute, count(*)::int as count
        from journal_entries
        where applied_at > now() - make_interval(mins => ${THROUGHPUT_MINUTES})
        group by 1`,
      listInputQueue(config.importer.inputDir, QUEUE_FILES),
    ])
    const buckets = fillMinutes(
      perMinute.map((r) => ({ minute: r.minute as Date, count: r.count as number })),
      deps.clock(),
      THROUGHPUT_MINUTES,
    )
    const lastMinute = buckets.at(-1)?.count ?? 0
    const chart = barChart(buckets)
    const now = deps.clock()
    const shown = (list: typeof queue.waiting) => ({
      ...list,
      files: list.files.map((f) => ({
        ...f,
        size: formatBytes(f.bytes),
        age: formatAge(now - f.since.getTime()),
      })),
    })
    return reply.page('pipeline', 'Pipeline', {
      readiness,
      lag: lag instanceof Error ? undefined : lag,
      lagError: lag instanceof Error ? lag.message : undefined,
      backlog,
      chart,
      timeTicks: barTimeTicks(buckets, chart.bars, chart.box),
      waiting: shown(queue.waiting),
      processing: shown(queue.processing),
      applied: buckets.reduce((n, b) => n + b.count, 0),
      lastMinute,
      minutes: THROUGHPUT_MINUTES,
    })
  })
}
