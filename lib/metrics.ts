// Prometheus metrics and the health endpoints every service serves on its own port.
import { createServer, type Server } from 'node:http'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

export { Counter, Gauge, Histogram, Registry }

export type ReadinessCheck = () => Promise<void>

export interface Metrics {
  readonly registry: Registry
  counter(name: string, help: string, labelNames?: string[]): Counter
  gauge(name: string, help: string, labelNames?: string[]): Gauge
  histogram(name: string, help: string, buckets: number[], labelNames?: string[]): Histogram
}

export function createMetrics(service: string): Metrics {
  const registry = new Registry()
  registry.setDefaultLabels({ service })
  collectDefaultMetrics({ register: registry })
  return {
    registry,
    counter: (name, help, labelNames = []) => new Counter({ name, help, labelNames, registers: [registry] }),
    gauge: (name, help, labelNames = []) => new Gauge({ name, help, labelNames, registers: [registry] }),
    histogram: (name, help, buckets, labelNames = []) =>
      new Histogram({ name, help, buckets, labelNames, registers: [registry] }),
  }
}

export interface HealthServer {
  readonly port: number
  close(): Promise<void>
}

/**
 * /healthz: the process is alive. /readyz: every named check passes (each gets a short deadline),
 * with the failures listed in the body. /metrics: Prometheus text format.
 */
export async function serveHealth(opts: {
  port: number
  /** 127.0.0.1 unless given. */
  host?: string
  metrics: Metrics
  checks: Record<string, ReadinessCheck>
  timeoutMs?: number
}): Promise<HealthServer> {
  const timeoutMs = opts.timeoutMs ?? 2000
  const runCheck = async (check: ReadinessCheck): Promise<string | undefined> => {
    let timer: NodeJS.Timeout | undefined
    try {
      await Promise.race([
        check(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
        }),
      ])
      return undefined
    } catch (err) {
      return err instanceof Error ? err.message : String(err)
    } finally {
      clearTimeout(timer)
    }
  }

  const server: Server = createServer(async (req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}')
    } else if (req.url === '/readyz') {
      const names = Object.keys(opts.checks)
      const results = await Promise.all(names.map((n) => runCheck(opts.checks[n]!)))
      const failed = Object.fromEntries(names.flatMap((n, i) => (results[i] ? [[n, results[i]]] : [])))
      const ready = Object.keys(failed).length === 0
      res
        .writeHead(ready ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: ready ? 'ready' : 'unready', failed }))
    } else if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': opts.metrics.registry.contentType })
      res.end(await opts.metrics.registry.metrics())
    } else {
      res.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve())
  })
  const address = server.address()
  return {
    port: typeof address === 'object' && address ? address.port : opts.port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
