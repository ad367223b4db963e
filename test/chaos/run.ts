// `npm run chaos -- --seed S --events N [--cpu-hog K]`: the long chaos run; prints one JSON report, exits 1 on a
// violation.
import { spawn } from 'node:child_process'
import { parseArgs } from 'node:util'
import { runChaos } from './harness.ts'

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    events: { type: 'string', default: '1000000' },
    files: { type: 'string' },
    'window-s': { type: 'string' },
    kills: { type: 'string', default: '20' },
    'broker-restarts': { type: 'string', default: '3' },
    'postgres-restarts': { type: 'string', default: '3' },
    // Busy processes beside the run, to starve the pipeline of CPU as a busy machine does.
    'cpu-hog': { type: 'string', default: '0' },
  },
})
const events = Number(values.events)
// Stop where we are on Ctrl-C or SIGTERM; the harness still stops every process and the stack it started.
const stop = new AbortController()
process.once('SIGINT', () => stop.abort())
process.once('SIGTERM', () => stop.abort())
const hogs = Array.from({ length: Number(values['cpu-hog']) }, () =>
  spawn(process.execPath, ['--eval', 'for (;;) {}'], { stdio: 'ignore' }),
)
const report = await runChaos({
  signal: stop.signal,
  seed: Number(values.seed),
  events,
  files: Number(values.files ?? Math.max(10, Math.ceil(events / 10_000))),
  // Long enough that the faults land while the files are still flowing in.
  windowMs: Number(values['window-s'] ?? Math.max(60, Math.ceil(events / 8000))) * 1000,
  faults: {
    processorKills: Number(values.kills),
    importerKills: Math.max(1, Math.floor(Number(values.kills) / 4)),
    brokerRestarts: Number(values['broker-restarts']),
    postgresRestarts: Number(values['postgres-restarts']),
  },
  quiesceTimeoutMs: 15 * 60_000,
  log: (m) => console.error(`[chaos] ${m}`),
}).finally(() => {
  for (const h of hogs) h.kill('SIGKILL')
})
console.log(JSON.stringify({ cpu_hogs: hogs.length, ...report }, null, 2))
process.exit(report.pass && report.quiescent.reached ? 0 : 1)
