// The chaos run: real broker, registry and Postgres; an importer and two processors as child processes;
// seeded faults; then quiescence and invariants checked against the generator's ground truth.
import { randomBytes } from 'node:crypto'
import { copyFile, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { prng } from '../../bench/generate.ts'
import { startStack } from '../../infra/stack.ts'
import { loadConfig } from '../../lib/config.ts'
import { createSql, migrate } from '../../lib/db.ts'
import { createIdempotentProducer, createKafka, ensureTopics, pipelineTopics } from '../../lib/kafka.ts'
import { createLogger } from '../../lib/log.ts'
import { createEncoder, createRegistry } from '../../lib/registry.ts'
import { type Supervisor, supervise } from '../../ops/supervisor.ts'
import type { StockMovement } from '../../schemas/contract.ts'
import { generateChaosInput, writeChaosFiles } from './generate.ts'
import { checkInjected, createInjector, emptyInjected } from './injections.ts'
import { checkInvariants } from './invariants.ts'
import { revertDuringRun } from './revert-run.ts'

const BIN = fileURLToPath(new URL('../../bin/commands.ts', import.meta.url))

export interface ChaosOptions {
  seed: number
  events: number
  files: number
  windowMs: number
  faults: { processorKills: number; importerKills: number; brokerRestarts: number; postgresRestarts: number }
  quiesceTimeoutMs: number
  stackDir?: string
  /** Aborted by SIGINT/SIGTERM: the run stops where it is and still stops everything it started. */
  signal?: AbortSignal
  log?: (msg: string) => void
}

type FaultKind =
  | 'kill-processor'
  | 'kill-importer'
  | 'restart-broker'
  | 'restart-postgres'
  | 'add-processor'
  | 'remove-processor'
  | 'redrop-same-name'
  | 'redrop-new-name'
  | 'poison'
  | 'invalid-messages'
  | 'transactional'
  | 'reused-id'
  | 'parked-backlog'
  | 'backlog-stock'
  | 'restart-registry'
interface Fault {
  at: number
  kind: FaultKind
  target?: string
}

/** The fault schedule is a pure function of the options, so a seed replays the same run. */
export function faultSchedule(o: ChaosOptions): Fault[] {
  const rand = prng(o.seed ^ 0x5eed)
  const at = () => Math.round(o.windowMs * (0.1 + rand() * 0.8))
  const out: Fault[] = []
  const add = (n: number, kind: FaultKind, target?: () => string) => {
    for (let i = 0; i < n; i++) out.push({ at: at(), kind, target: target?.() })
  }
  add(o.faults.processorKills, 'kill-processor', () => (rand() < 0.5 ? 'processor-a' : 'processor-b'))
  add(o.faults.importerKills, 'kill-importer')
  add(o.faults.brokerRestarts, 'restart-broker')
  add(o.faults.postgresRestarts, 'restart-postgres')
  const extra = at()
  out.push(
    { at: Math.min(extra, o.windowMs * 0.5), kind: 'add-processor' },
    { at: Math.max(extra, o.windowMs * 0.5) + 2000, kind: 'remove-processor' },
  )
  add(1, 'redrop-same-name')
  add(1, 'redrop-new-name')
  add(2, 'poison')
  add(2, 'invalid-messages')
  add(2, 'transactional')
  add(1, 'reused-id')
  add(1, 'restart-registry')
  // The backlog's stock arrives a few seconds after its sales: long enough for scheduled retries of
  // the whole backlog, well inside the chaos run's give-up time (~29 s).
  const backlog = at()
  out.push({ at: backlog, kind: 'parked-backlog' }, { at: backlog + 3000, kind: 'backlog-stock' })
  return out.sort((a, b) => a.at - b.at)
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export async function runChaos(o: ChaosOptions) {
  const say = o.log ?? (() => {})
  const started = Date.now()
  const stack = await startStack({
    dir: o.stackDir ?? '.stack/chaos',
    // Below 32768, outside Linux's ephemeral range, so no client socket can hold one of them.
    ports: { kafka: 24092, kafkaController: 24093, registry: 24081, postgres: 24432 },
    fresh: true,
    log: say,
  })
  const work = await mkdtemp(join(tmpdir(), 'stockflow-chaos-'))
  const staging = join(work, 'staging')
  const input = join(work, 'input')
  await mkdir(staging)
  await mkdir(input)
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...stack.env,
    INPUT_DIR: input,
    IMPORT_SETTLE_MS: '100',
    PROCESS_RETRY_SCHEDULE_MS: '250,500,1000',
    PROCESS_MAX_ATTEMPTS: '30',
    PROCESS_RETRY_POLL_MS: '100',
    OUTBOX_POLL_MS: '100',
    IMPORTER_PORT: '0',
    PROCESSOR_PORT: '0',
    LOG_LEVEL: 'fatal',
  }
  const config = loadConfig(env)
  const sql = createSql({ url: stack.env.DATABASE_URL, max: 2 })
  const log = createLogger({ name: 'chaos', level: 'fatal' })
  const kafka = createKafka(config.kafka, log, 'chaos')
  const sups: Supervisor[] = []
  const injected: (Fault & { done_at_ms: number })[] = []
  const injected_truth = emptyInjected()
  // Every exit the supervisors saw: a processor may exit only through the schedule's SIGKILL.
  const exits: { name: string; how: string }[] = []
  const countExit = (line: string) => {
    const m = /^(\S+) exited \(([^)]+)\)/.exec(line)
    if (m) exits.push({ name: m[1]!, how: m[2]! })
  }
  const movementEncoder = () =>
    createEncoder<StockMovement>(
      createRegistry(config.registry),
      config.registry,
      config.topics.events,
      'StockMovement',
    )
  try {
    await migrate(sql, { schema: 'public' })
    const admin = kafka.admin()
    await admin.connect()
    await ensureTopics(admin, pipelineTopics(config.topics))
    await admin.disconnect()

    const truth = generateChaosInput(o.seed, o.events, o.files)
    const files = await writeChaosFiles(staging, truth)
    say(
      `seed ${o.seed}: ${truth.rows} rows in ${files.length} files; ${truth.applied.size} to apply, ${truth.failing.size} to fail, ${truth.invalid.length} invalid`,
    )

    const child = (name: string) => ({
      name,
      args: [BIN, name.startsWith('processor') ? 'processor' : 'importer'],
      env,
    })
    const injector = createInjector(kafka, config.topics.events, await movementEncoder(), injected_truth)
    const main = supervise([child('importer'), child('processor-a'), child('processor-b')], countExit, 10_000)
    sups.push(main)
    let extra: Supervisor | undefined
    const reverting = revertDuringRun({
      sql,
      env,
      revert: truth.corrections.revert,
      say,
      timeoutMs: o.windowMs + o.quiesceTimeoutMs,
    })

    const dropEvery = (o.windowMs * 0.7) / files.length
    const timeline: ({ at: number; drop: string | Buffer } | Fault)[] = [
      ...files.map((f, i) => ({ at: Math.round(i * dropEvery), drop: f })),
      ...faultSchedule(o),
    ].sort((a, b) => a.at - b.at)
    const t0 = Date.now()
    for (const ev of timeline) {
      await sleep(Math.max(0, t0 + ev.at - Date.now()))
      if (o.signal?.aborted) throw new Error('chaos run stopped by a signal')
      if ('drop' in ev) {
        const d = ev.drop
        const name = Buffer.isBuffer(d)
          ? d.subarray(d.lastIndexOf(0x2f) + 1)
          : Buffer.from(d.split('/').pop()!)
        await rename(d, Buffer.concat([Buffer.from(`${input}/`), name]))
        continue
      }
      const pids = main.pids()
      switch (ev.kind) {
        case 'kill-processor':
        case 'kill-importer': {
          const pid = pids[ev.kind === 'kill-importer' ? 'importer' : ev.target!]
          if (pid) process.kill(pid, 'SIGKILL')
          break
        }
        case 'restart-broker':
          await stack.kafka!.kill()
          await sleep(1000)
          await stack.kafka!.start()
          break
        case 'restart-postgres':
          await stack.postgres!.crash()
          await sleep(1000)
          await stack.postgres!.start()
          break
        case 'add-processor':
          extra = supervise([child('processor-c')], countExit, 10_000)
          sups.push(extra)
          break
        case 'remove-processor':
          await extra?.stop()
          break
        case 'redrop-same-name':
        case 'redrop-new-name': {
          const done = (await readdir(join(input, 'processed'))).filter(
            (f) => f.endsWith('.csv') && !f.includes('.rejected'),
          )
          const pick = done[0]
          if (pick)
            await copyFile(
              join(input, 'processed', pick),
              join(input, ev.kind === 'redrop-same-name' ? pick : `again-${pick}`),
            )
          break
        }
        case 'invalid-messages':
          await injector.invalidMessages()
          break
        case 'transactional':
          await injector.transactional()
          break
        case 'reused-id':
          await injector.reusedId()
          break
        case 'parked-backlog':
          await injector.parkedBacklog()
          break
        case 'backlog-stock':
          await injector.backlogStock()
          break
        case 'restart-registry':
          await stack.registry!.stop()
          await stack.registry!.start()
          break
        case 'poison': {
          const producer = createIdempotentProducer(kafka, { retries: 10 })
          await producer.connect()
          await producer.send({
            topic: config.topics.events,
            acks: -1,
            messages: [{ key: 'poison', value: randomBytes(32) }],
          })
          await producer.disconnect()
          break
        }
      }
      injected.push({ ...ev, done_at_ms: Date.now() - t0 })
      say(`fault ${ev.kind}${ev.target ? ` ${ev.target}` : ''} at ${Date.now() - t0} ms`)
    }

    say('faults over; waiting for the revert, then quiescence')
    const reverted = await reverting
    const quiet = await waitQuiescent(o.quiesceTimeoutMs)
    const report = await checkInvariants(
      { sql, kafka, config, injected: injected_truth },
      truth,
      injected.filter((f) => f.kind === 'poison').length,
    )
    const processorExits = exits.filter((e) => e.name.startsWith('processor'))
    const unexpected = processorExits.filter((e) => e.how !== 'SIGKILL')
    const kills = injected.filter((f) => f.kind === 'kill-processor').length
    const invariants = {
      ...report.invariants,
      every_injected_message_accounted_once: await checkInjected(
        sql,
        injected_truth,
        config.processor.maxAttempts,
      ),
      file_reverted_during_the_run: reverted,
      processor_exits_only_when_killed: {
        ok: unexpected.length === 0 && processorExits.length <= kills,
        kills_scheduled: kills,
        exits: processorExits.length,
        unexpected: unexpected.slice(0, 5),
      },
    }
    return {
      seed: o.seed,
      events: truth.rows,
      files: files.length,
      duration_s: Math.round((Date.now() - started) / 1000),
      quiescent: quiet,
      faults: injected,
      pass: Object.values(invariants).every((i) => i.ok),
      invariants,
    }
  } finally {
    for (const s of sups) await s.stop().catch(() => {})
    await sql.end({ timeout: 5 })
    await stack.stop()
    await rm(work, { recursive: true, force: true })
  }

  async function partitionsCaughtUp(): Promise<boolean> {
    const admin = kafka.admin()
    await admin.connect()
    try {
      const offsets = await admin.fetchTopicOffsets(config.topics.events)
      const stored = new Map(
        (
          await sql`select partition, greatest(next_offset, coalesce(read_to, 0)) as read
                    from consumer_offsets where group_id = ${config.processor.groupId}`
        ).map((r) => [r.partition, Number(r.read)]),
      )
      return offsets.every((p) => (stored.get(p.partition) ?? 0) >= Number(p.high))
    } finally {
      await admin.disconnect()
    }
  }

  async function waitQuiescent(timeoutMs: number) {
    const deadline = Date.now() + timeoutMs
    let last = {}
    while (Date.now() < deadline && !o.signal?.aborted) {
      try {
        const waiting = (await readdir(input)).filter((f) => f.endsWith('.csv'))
        const processing = await readdir(join(input, 'processing'))
        // A row set aside as unsendable is not waited for: the invariant reports it.
        const [db] =
          await sql`select (select count(*)::int from outbox where sent_at is null and parked_at is null) as outbox,
                                      (select count(*)::int from parked_sales) as parked`
        const caughtUp = await partitionsCaughtUp()
        last = { waiting: waiting.length, processing: processing.length, ...db, caughtUp }
        if (
          waiting.length === 0 &&
          processing.length === 0 &&
          db?.outbox === 0 &&
          db?.parked === 0 &&
          caughtUp
        ) {
          return { reached: true, ...last }
        }
      } catch {
        // Services may still be recovering from the last fault.
      }
      await sleep(500)
    }
    return { reached: false, ...last }
  }
}
