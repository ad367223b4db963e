// `npm run bench`: the real pipeline on the local stack with durable settings, measured end to end.
import { type ChildProcess, spawn } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir, totalmem } from 'node:os'
import { basename, join } from 'node:path'
import { parseArgs } from 'node:util'
import { mapHeader, parseRow } from '../importer/parse-row.ts'
import { readRecords } from '../importer/read-records.ts'
import { startStack } from '../infra/stack.ts'
import type { Receipt } from '../ledger/input-folder.ts'
import { createSql, migrate, type Sql } from '../lib/db.ts'
import type { StockMovement } from '../schemas/contract.ts'
import { applyPerEvent } from './baseline.ts'
import { cpuPerEvent, sampleCpu } from './cpu.ts'
import { generateCsvs } from './generate.ts'
import { percentile } from './percentile.ts'

const BIN = new URL('../bin/commands.ts', import.meta.url).pathname
// Below 32768, outside Linux's ephemeral range, so no client socket can hold one of them.
const BENCH_PORTS = { kafka: 22092, kafkaController: 22093, registry: 22081, postgres: 22432 }

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    files: { type: 'string', default: '10' },
    items: { type: 'string', default: '5000' },
    'latency-files': { type: 'string', default: '30' },
    'baseline-events': { type: 'string', default: '20000' },
    'big-rows': { type: 'string', default: '0' },
    json: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
})
const num = (k: keyof typeof args) => Number(args[k])
const say = (msg: string) => console.error(`[bench] ${msg}`)
/** How often the latency phase looks at the processor's committed offsets: the figures' resolution. */
const COMMIT_POLL_MS = 5

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const v = await probe().catch(() => undefined)
    if (v) return v
    await sleep(100)
  }
  throw new Error(`bench: timed out waiting for ${what}`)
}

async function peakRssMb(pid: number | undefined): Promise<number | null> {
  if (!pid) return null
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1]
  return kb ? Math.round(Number(kb) / 1024) : null
}

async function parseRate(files: string[]): Promise<number> {
  const started = performance.now()
  let rows = 0
  for (const f of files) {
    let map: ReturnType<typeof mapHeader> | undefined
    for await (const recs of readRecords(createReadStream(f, { highWaterMark: 256 * 1024 }), {
      maxRecordBytes: 65536,
    })) {
      for (const rec of recs) {
        if (!rec.ok) continue
        if (!map) map = mapHeader(rec.fields)
        else if (map.ok && parseRow(rec.fields, map.map).ok) rows++
      }
    }
  }
  return (rows * 1000) / (performance.now() - started)
}

/**
 * Events the processor has committed: its offsets, written in the same transaction as the journal, summed
 * over the partitions (a fresh topic, no transactions: offsets start at 0 and have no gaps). Six rows, not
 * a count over the journal, which grew with the run and made Postgres scan it every poll, timed.
 */
async function committedEvents(sql: Sql, topic: string): Promise<number> {
  const [r] =
    await sql`select coalesce(sum(next_offset), 0)::bigint as n from consumer_offsets where topic = ${topic}`
  return Number(r?.n ?? 0)
}

/**
 * Committed offsets count messages, not applied events: a parked sale or a duplicate would end a wait
 * early. Each phase therefore checks the journal once after its wait, outside the timed window.
 */
async function expectJournal(sql: Sql, events: number, phase: string): Promise<void> {
  const [r] = await sql`select count(*)::int as n from stock_journal`
  if (r?.n !== events) throw new Error(`bench: after the ${phase}, the journal holds ${r?.n}, not ${events}`)
}

async function readMovements(file: string, limit: number): Promise<StockMovement[]> {
  const out: StockMovement[] = []
  let map: ReturnType<typeof mapHeader> | undefined
  for await (const recs of readRecords(createReadStream(file), { maxRecordBytes: 65536 })) {
    for (const rec of recs) {
      if (!rec.ok) continue
      if (!map) map = mapHeader(rec.fields)
      else if (map.ok) {
        const r = parseRow(rec.fields, map.map)
        if (r.ok) out.push(r.movement)
        if (out.length >= limit) return out
      }
    }
  }
  return out
}

async function main() {
  const rows = num('rows')
  const stack = await startStack({
    dir: '.stack/bench',
    ports: BENCH_PORTS,
    fresh: true,
    existing: {
      KAFKA_BROKERS: process.env.KAFKA_BROKERS,
      SCHEMA_REGISTRY_URL: process.env.SCHEMA_REGISTRY_URL,
      DATABASE_URL: process.env.DATABASE_URL,
    },
    log: say,
  })
  const work = await mkdtemp(join(tmpdir(), 'stockflow-bench-'))
  const gen = join(work, 'gen')
  const input = join(work, 'input')
  await mkdir(gen)
  await mkdir(input)
  const children: ChildProcess[] = []
  let stopping = false
  const schema = `bench_${Date.now().toString(36)}`
  const env = {
    ...process.env,
    ...stack.env,
    DATABASE_SCHEMA: schema,
    TOPIC_EVENTS: `${schema}.events`,
    TOPIC_ERRORS: `${schema}.errors`,
    TOPIC_LOW_STOCK: `${schema}.low-stock`,
    PROCESS_GROUP_ID: `${schema}.processor`,
    INPUT_DIR: input,
    IMPORTER_PORT: '22464',
    PROCESSOR_PORT: '22465',
    LOG_LEVEL: 'warn',
  }
  const sql = createSql({ url: stack.env.DATABASE_URL, schema, max: 4 })
  try {
    say(`generating ${rows} rows in ${args.files} files over ${args.items} items (not timed)`)
    const data = await generateCsvs({ dir: gen, rows, files: num('files'), items: num('items') })
    const parse = await parseRate(data.files)
    await migrate(sql, { schema })

    const start = (name: string) => {
      const c = spawn(process.execPath, [BIN, name], { env, stdio: ['ignore', 'ignore', 'inherit'] })
      // A service that dies mid-run would only show up as a time-out; fail at once instead.
      c.once('exit', (code, signal) => {
        if (!stopping) {
          console.error(`[bench] ${name} exited unexpectedly (${signal ?? code})`)
          for (const other of children) other.kill('SIGKILL')
          // The stack goes too: exiting here skips the finally below, and would leave it running.
          void stack.stop().finally(() => process.exit(1))
        }
      })
      children.push(c)
      return c
    }
    const processor = start('processor')
    const importer = start('importer')
    await until(
      'services ready',
      async () => {
        const codes = await Promise.all(
          ['22464', '22465'].map((p) => fetch(`http://127.0.0.1:${p}/readyz`).then((r) => r.status)),
        )
        return codes.every((c) => c === 200)
      },
      120_000,
    )

    say('dropping the files; timing until the last stock row is committed')
    const components = {
      importer: importer.pid,
      processor: processor.pid,
      kafka: stack.kafka?.pid(),
      registry: stack.registry?.pid(),
      postgres: stack.postgres?.pid(),
    }
    const cpuBefore = sampleCpu(components)
    const t0 = performance.now()
    for (const f of data.files) await rename(f, join(input, basename(f)))
    await until(
      'all rows applied',
      async () => (await committedEvents(sql, env.TOPIC_EVENTS)) >= rows,
      Math.max(300_000, rows * 2),
    )
    const e2eSeconds = (performance.now() - t0) / 1000
    const cpu = cpuPerEvent(cpuBefore, sampleCpu(components), rows)
    await expectJournal(sql, rows, 'timed run')

    const receipts: Receipt[] = await Promise.all(
      (await readdir(join(input, 'processed')))
        .filter((f) => f.endsWith('.receipt.json'))
        .map(async (f) => JSON.parse(await readFile(join(input, 'processed', f), 'utf8'))),
    )
    const pubStart = Math.min(...receipts.map((r) => Date.parse(r.started_at)))
    const pubEnd = Math.max(...receipts.map((r) => Date.parse(r.finished_at)))
    const [applyRow] =
      await sql`select extract(epoch from max(applied_at) - min(applied_at))::float as s from stock_journal`

    say('latency: 1k-row files renamed into place every 100 ms')
    const lat = await generateCsvs({
      dir: gen,
      rows: num('latency-files') * 1000,
      files: num('latency-files'),
      items: num('items'),
      seed: 7,
      prefix: 'latency',
    })
    // The atomic-rename convention, the importer's fast path: each file is first put in the folder as a
    // dotfile (not timed), then renamed to its name; latency runs from that rename.
    for (const f of lat.files) await rename(f, join(input, `.${basename(f)}`))
    await sleep(500) // let the watcher come across the dotfiles; an unseen one would only take the slow path
    // Latency ends when the batch commits. Seen from outside: the processor's offsets are written in the
    // same transaction as the journal, so polling them every few ms gives when each offset became visible.
    const commits: { at: number; next: Map<number, number> }[] = []
    let watching = true
    const watcher = (async () => {
      while (watching) {
        const rows =
          await sql`select partition, next_offset from consumer_offsets where topic = ${env.TOPIC_EVENTS}`
        commits.push({
          at: Date.now(),
          next: new Map(rows.map((r) => [r.partition as number, r.next_offset as number])),
        })
        await sleep(COMMIT_POLL_MS)
      }
    })()
    const dropped = new Map<string, number>()
    for (const f of lat.files) {
      dropped.set(basename(f), Date.now())
      await rename(join(input, `.${basename(f)}`), join(input, basename(f)))
      await sleep(100)
    }
    await until(
      'latency files applied',
      async () => (await committedEvents(sql, env.TOPIC_EVENTS)) >= rows + lat.rows,
      300_000,
    )
    await expectJournal(sql, rows + lat.rows, 'latency files')
    await sleep(COMMIT_POLL_MS * 2)
    watching = false
    await watcher
    // A file is committed once every partition its rows went to has committed past its last offset there.
    const spans = await sql`
      select source_file, partition, max("offset")::bigint as last from stock_journal
      where source_file like 'latency-%' group by source_file, partition`
    const lastByFile = new Map<string, [number, number][]>()
    for (const r of spans) {
      const list = lastByFile.get(r.source_file as string) ?? []
      list.push([r.partition as number, Number(r.last)])
      lastByFile.set(r.source_file as string, list)
    }
    const latencies = [...lastByFile].map(([file, parts]) => {
      const seen = commits.find((c) => parts.every(([p, last]) => (c.next.get(p) ?? 0) > last))
      if (!seen) throw new Error(`bench: the commit of ${file} was not observed`)
      return seen.at - dropped.get(file)!
    })
    latencies.sort((a, b) => a - b)

    // Every item, not only the total: two wrong items can cancel out in a sum.
    const expected = new Map(data.levels)
    for (const [k, v] of lat.levels) expected.set(k, (expected.get(k) ?? 0) + v)
    const actual = new Map(
      (await sql`select store_number, item_number, quantity::bigint as q from stock_levels`).map((r) => [
        `${r.store_number}:${r.item_number}`,
        Number(r.q),
      ]),
    )
    const mismatched = [...new Set([...expected.keys(), ...actual.keys()])].filter(
      (k) => (expected.get(k) ?? 0) !== (actual.get(k) ?? 0),
    )

    let bigRss: number | null = null
    if (num('big-rows') > 0) {
      say(`one file of ${num('big-rows')} rows, for the importer's memory bound`)
      const big = await generateCsvs({
        dir: gen,
        rows: num('big-rows'),
        files: 1,
        items: num('items'),
        seed: 9,
        prefix: 'big',
      })
      const before = await committedEvents(sql, env.TOPIC_EVENTS)
      await rename(big.files[0]!, join(input, basename(big.files[0]!)))
      await until(
        'big file applied',
        async () => (await committedEvents(sql, env.TOPIC_EVENTS)) >= before + big.rows,
        Math.max(600_000, big.rows * 2),
      )
      await expectJournal(sql, rows + lat.rows + big.rows, 'big file')
      bigRss = await peakRssMb(importer.pid)
    }

    say(`baseline: ${args['baseline-events']} events, one transaction each`)
    const baselineSchema = `${schema}_baseline`
    const baseSql = createSql({ url: stack.env.DATABASE_URL, schema: baselineSchema, max: 1 })
    await migrate(baseSql, { schema: baselineSchema })
    const base = await generateCsvs({
      dir: gen,
      rows: num('baseline-events'),
      files: 1,
      items: num('items'),
      seed: 11,
      prefix: 'baseline',
    })
    const baseline = await applyPerEvent(baseSql, await readMovements(base.files[0]!, num('baseline-events')))
    await baseSql.end({ timeout: 5 })

    const e2e = rows / e2eSeconds
    const result = {
      rows,
      files: num('files'),
      items: num('items'),
      end_to_end_events_per_s: Math.round(e2e),
      end_to_end_seconds: Number(e2eSeconds.toFixed(2)),
      parse_rows_per_s: Math.round(parse),
      publish_rows_per_s: Math.round(
        (receipts.reduce((n, r) => n + r.rows_read, 0) * 1000) / Math.max(1, pubEnd - pubStart),
      ),
      apply_events_per_s: Math.round(rows / Math.max(0.001, applyRow?.s ?? 0)),
      baseline_per_event_tx_per_s: Math.round(baseline),
      speedup_vs_baseline: Number((e2e / baseline).toFixed(1)),
      // user+sys CPU over the timed window, per event; Postgres includes its backends.
      cpu_us_per_event: cpu,
      latency_ms: {
        files: latencies.length,
        p50: Math.round(percentile(latencies, 50)),
        p99: Math.round(percentile(latencies, 99)),
      },
      peak_rss_mb: {
        importer: await peakRssMb(importer.pid),
        processor: await peakRssMb(processor.pid),
        importer_after_big_file: bigRss,
        big_file_rows: num('big-rows'),
      },
      stock_check: {
        items: expected.size,
        mismatched_items: mismatched.length,
        first_mismatches: mismatched
          .slice(0, 5)
          .map((k) => ({ item: k, expected: expected.get(k) ?? 0, actual: actual.get(k) ?? 0 })),
        expected_units: data.expectedUnits + lat.expectedUnits,
        actual_units: [...actual.values()].reduce((a, b) => a + b, 0),
      },
      machine: {
        cpus: cpus().length,
        cpu: cpus()[0]?.model,
        mem_gb: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      settings: { acks: 'all', idempotent_producer: true, synchronous_commit: 'on' },
      at: new Date().toISOString(),
    }
    if (
      result.stock_check.mismatched_items > 0 ||
      result.stock_check.expected_units !== result.stock_check.actual_units
    ) {
      throw new Error(`bench: stock mismatch ${JSON.stringify(result.stock_check)}`)
    }
    await mkdir(new URL('./results/', import.meta.url), { recursive: true })
    const out =
      args.out ?? new URL(`./results/${result.at.replace(/[:.]/g, '-')}.json`, import.meta.url).pathname
    await writeFile(out, `${JSON.stringify(result, null, 2)}\n`)
    if (args.json) console.log(JSON.stringify(result))
    else {
      const rowsOut: [string, string][] = [
        [
          'end to end',
          `${result.end_to_end_events_per_s} events/s (${result.end_to_end_seconds} s for ${rows})`,
        ],
        ['parse + validate', `${result.parse_rows_per_s} rows/s`],
        ['publish (acks=all)', `${result.publish_rows_per_s} rows/s`],
        ['apply (Postgres)', `${result.apply_events_per_s} events/s`],
        ['baseline, tx per event', `${result.baseline_per_event_tx_per_s} events/s`],
        ['speed-up', `${result.speedup_vs_baseline}x`],
        [
          'CPU µs/event',
          Object.entries(result.cpu_us_per_event)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
        ],
        [
          'latency drop→stock',
          `p50 ${result.latency_ms.p50} ms, p99 ${result.latency_ms.p99} ms (${result.latency_ms.files} files)`,
        ],
        [
          'stock check',
          `${result.stock_check.items} items compared one by one, ${result.stock_check.mismatched_items} differ`,
        ],
        [
          'peak RSS',
          `importer ${result.peak_rss_mb.importer} MB, processor ${result.peak_rss_mb.processor} MB${bigRss ? `, importer after ${num('big-rows')}-row file ${bigRss} MB` : ''}`,
        ],
      ]
      for (const [k, v] of rowsOut) console.log(`${k.padEnd(24)} ${v}`)
      say(`written to ${out}`)
    }
  } finally {
    stopping = true
    for (const c of children) c.kill('SIGTERM')
    await Promise.all(
      children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)),
    )
    await sql.end({ timeout: 5 })
    await stack.stop()
    await rm(work, { recursive: true, force: true })
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
