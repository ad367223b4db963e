// The importer service: watches the input folder and imports each settled file exactly once.
import { lstatSync } from 'node:fs'
import { lstat, rm } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { isRejectedRowsName, outputPath, type Receipt } from '../ledger/input-folder.ts'
import type { Config } from '../lib/config.ts'
import type { Sql } from '../lib/db.ts'
import { classifyDbError, FileRejectedError } from '../lib/errors.ts'
import { type RenewableProducer, refusedByBroker } from '../lib/kafka.ts'
import type { Logger } from '../lib/log.ts'
import type { Encoder } from '../lib/registry.ts'
import { retry } from '../lib/retry.ts'
import type { StockError, StockMovement } from '../schemas/contract.ts'
import { type AdmittedFile, fileIdentity, type Opened, openAdmitted, sha256Of } from './admitted-file.ts'
import { createConcluder, type LifecycleStep } from './conclude-file.ts'
import { ensureStateDirs, leftInProcessing, moveTo, removeOrphanOutputs } from './file-lifecycle.ts'
import { importFile } from './import-file.ts'
import type { ImporterMetrics } from './importer-metrics.ts'
import { type ItemLoad, itemHeaderOf, itemReceipt, loadItems, readItemFile } from './item-file.ts'
import { type ItemHeader, itemActor } from './item-rows.ts'
import { claimKeyOf, reportOutcome } from './outcomes.ts'
import { createPublisher } from './publisher.ts'
import { refusedReceipt, rejectedReceipt, writeReceipt } from './receipt.ts'
import { type FolderWatch, watchFolder } from './watch-folder.ts'

export interface ImporterDeps {
  producer: RenewableProducer
  movements: Encoder<StockMovement>
  errors: Encoder<StockError>
  sql: Sql
  log: Logger
  clock: () => number
  config: Pick<Config, 'importer' | 'topics'>
  metrics?: ImporterMetrics
  /** Test seams: `admitted` runs right after a file passed its checks, before anything else happens to it. */
  hooks?: {
    admitted?: (path: string) => Promise<void>
    /** After each step of a file's lifecycle; the crash tests kill the process here. */
    step?: (step: LifecycleStep, rel: string) => Promise<void>
    /** The watcher came across a path it does not import (a temporary file is noted then). */
    ignored?: (path: string) => void
  }
}

export type { LifecycleStep } from './conclude-file.ts'

export interface Importer {
  start(): Promise<void>
  /** Stops watching, lets the file in progress finish, and resolves once nothing is in flight. */
  stop(): Promise<void>
  /** Resolves once every file seen so far has been handled (for tests and `stockflow start`). */
  idle(): Promise<void>
}

/** The inode at a path, or undefined when nothing is there. */
function inodeAt(path: string): bigint | undefined {
  try {
    return lstatSync(path, { bigint: true }).ino
  } catch {
    return undefined
  }
}

export function createImporter(deps: ImporterDeps): Importer {
  const { config, log } = deps
  const inputDir = config.importer.inputDir
  const queue: string[] = []
  const queued = new Set<string>()
  let folder: FolderWatch | undefined
  let worker: Promise<void> | undefined
  let stopping = false
  const abort = new AbortController()
  const idleWaiters: (() => void)[] = []

  function enqueue(path: string) {
    if (stopping || queued.has(path)) return
    queued.add(path)
    queue.push(path)
    worker ??= drain().finally(() => {
      worker = undefined
      for (const w of idleWaiters.splice(0)) w()
    })
  }

  async function drain() {
    while (queue.length > 0 && !stopping) {
      const path = queue.shift()!
      const taken = inodeAt(path)
      try {
        await claimAndImport(path)
      } catch (err) {
        log.error({ err, file: relative(inputDir, path) }, 'file could not be claimed')
      } finally {
        queued.delete(path)
      }
      // A new file dropped under the same name while this one was imported: its event came while the
      // name was still queued, so it is looked at now.
      const now = inodeAt(path)
      if (now !== undefined && now !== taken) folder?.arrived(path)
    }
  }

  async function claimAndImport(path: string) {
    const rel = relative(inputDir, path)
    let opened: Opened
    try {
      opened = await openAdmitted(inputDir, path, config.importer.maxFileBytes)
    } catch {
      return // Gone before we got to it: someone else moved or deleted it.
    }
    if (!opened.ok) return refuse(path, rel, opened)
    const file = opened.file
    try {
      // From here on only the descriptor is read: whatever happens to the name cannot change the content.
      await deps.hooks?.admitted?.(path)
      const claimed = await moveTo(inputDir, 'processing', path, rel)
      const claimedRel = relative(join(inputDir, 'processing'), claimed)
      await deps.hooks?.step?.('claimed', claimedRel)
      await importClaimed(file, claimed, claimedRel, false)
    } finally {
      await file.close()
    }
  }

  const outcomes = {
    sql: deps.sql,
    producer: deps.producer,
    errors: deps.errors,
    topics: config.topics,
    clock: deps.clock,
  }

  const { conclude } = createConcluder({ inputDir, outcomes, log, step: deps.hooks?.step })

  async function refuse(path: string, rel: string, why: Extract<Opened, { ok: false }>) {
    const receipt = rejectedReceipt(rel, why.code, why.message, deps.clock())
    // Reported before the move: if Kafka or Postgres is away, the file stays and is tried again, and the
    // outcome is keyed to the file on disk, so a crash before the move does not record it twice.
    const st = await lstat(path, { bigint: true }).catch(() => undefined)
    const key = st ? fileIdentity(st) : `${rel}:${receipt.started_at}`
    await reportOutcome(outcomes, receipt, { key: `refused:${key}`, rejectedCsv: null })
    const dest = await moveTo(inputDir, 'failed', path, rel)
    await writeReceipt(outputPath(dest, '.receipt.json'), receipt)
    deps.metrics?.files.inc({ status: 'failed' })
    log.warn({ file: rel, code: why.code }, why.message)
  }

  /** Imports a file in processing/, retrying with backoff while Kafka or Postgres is unavailable. */
  async function importClaimed(file: AdmittedFile, path: string, rel: string, resumed: boolean) {
    const once = async () => {
      try {
        await importOnce(file, path, rel, resumed)
      } catch (err) {
        const refused = refusedByBroker(err)
        if (!refused) throw err
        await failRefused(file, path, rel, refused, err)
      }
    }
    await retry(once, {
      attempts: Number.POSITIVE_INFINITY,
      baseMs: 1000,
      maxMs: 30_000,
      signal: abort.signal,
      // Whatever failed (Kafka or Postgres away, a file still being written), the file stays and is tried again.
      shouldRetry: () => true,
      onRetry: (err, attempt, retryInMs) =>
        log.error({ err, file: rel, attempt, retryInMs }, 'import failed; the file stays in processing/'),
    }).catch((err) => {
      // Stopping: the file stays in processing/ and is resumed at the next start.
      if (!abort.signal.aborted) throw err
    })
  }

  /**
   * The broker refused a request of this file for good: trying again would refuse it again, for ever, and
   * hold up every file behind it. The file fails visibly instead; the rows published before the refusal
   * stay published, and the processor skips them by transaction_id when the file is dropped again.
   */
  async function failRefused(file: AdmittedFile, path: string, rel: string, reason: string, err: unknown) {
    // The refused request may have been written in part: only a new producer id keeps the next file's
    // batches from being taken for duplicates of it.
    await deps.producer.renew()
    const receipt = refusedReceipt(
      rel,
      reason,
      { sha256: await sha256Of(file), bytes: file.size },
      deps.clock(),
    )
    await rm(outputPath(path, '.rejected.csv'), { force: true })
    await conclude(file, path, rel, 'failed', receipt)
    deps.metrics?.files.inc({ status: 'failed' })
    log.error(
      { err, file: rel, code: 'PUBLISH_REFUSED' },
      'the broker refused the file; it failed and the importer goes on',
    )
  }

  /** An item-master file: every row checked, then all of them loaded in one call, or none. */
  async function importItems(
    file: AdmittedFile,
    path: string,
    rel: string,
    sha256: string,
    header: ItemHeader,
  ) {
    const started = deps.clock()
    const input = () => ({ file: rel, sha256, bytes: file.size, started, finished: deps.clock() })
    let receipt: Receipt
    if (!header.ok) receipt = itemReceipt(input(), { error: { code: header.code, message: header.message } })
    else {
      const read = await readItemFile(file, header.columns)
      if (await file.changed()) {
        throw new FileRejectedError(
          'FILE_CHANGED',
          'the item file changed while it was read (still being written?); it is read again from its start',
          { retriable: true, context: { file: rel } },
        )
      }
      let load: ItemLoad | undefined
      if (read.ok) load = await loadItems(deps.sql, read.json, itemActor(rel))
      receipt = itemReceipt(input(), { read, load })
    }
    await deps.hooks?.step?.('recorded', rel)
    await conclude(file, path, rel, receipt.status === 'processed' ? 'processed' : 'failed', receipt)
    deps.metrics?.files.inc({ status: receipt.status })
    const summary = { file: rel, kind: 'items', rows: receipt.rows_read, loaded: receipt.items_loaded }
    if (receipt.error) log.warn({ ...summary, code: receipt.error.code }, receipt.error.message)
    else log.info(summary, 'item file loaded')
  }

  async function importOnce(file: AdmittedFile, path: string, rel: string, resumed: boolean) {
    const sha256 = await sha256Of(file)
    if (resumed) await removeOrphanOutputs(inputDir, rel, sha256)
    // An item file is loaded whenever it is dropped (a load is an upsert), so content identity is not asked.
    const items = await itemHeaderOf(file)
    if (items) return importItems(file, path, rel, sha256, items)
    if (!config.importer.force) {
      const prior = await deps.sql`select file_name from import_files where sha256 = ${sha256}`.catch((e) => {
        throw classifyDbError(e, { op: 'content-identity' })
      })
      // A file resumed from processing/ may have been recorded by its own interrupted run: that is not a
      // duplicate, and importing it again is what rebuilds its true receipt and rejected rows.
      const self = resumed && prior.some((p) => p.file_name === rel)
      if (prior.length > 0 && !self) {
        const receipt = {
          ...rejectedReceipt(rel, null, null, deps.clock()),
          status: 'duplicate' as const,
          sha256,
        }
        receipt.duplicate_of = prior[0]!.file_name as string
        await conclude(file, path, rel, 'processed', receipt)
        log.info(
          { file: rel, duplicateOf: receipt.duplicate_of },
          'same content already imported; nothing published',
        )
        return
      }
    }
    const rejectedPath = outputPath(path, '.rejected.csv')
    const publisher = createPublisher({
      producer: deps.producer,
      batchRows: config.importer.batchRows,
      batchBytes: config.importer.batchBytes,
      lingerMs: config.importer.lingerMs,
      maxQueuedBatches: config.importer.maxInFlight,
    })
    let receipt: Receipt
    try {
      receipt = await importFile(
        {
          publisher,
          movements: deps.movements,
          errors: deps.errors,
          topics: config.topics,
          log,
          clock: deps.clock,
        },
        {
          source: file,
          name: rel,
          sha256,
          rejectedPath,
          restoreNeutralised: isRejectedRowsName(rel),
          claimKey: await claimKeyOf(file, sha256),
        },
      )
    } catch (err) {
      await rm(rejectedPath, { force: true })
      throw err
    }
    if (await file.changed()) {
      // Rows already published are dropped by transaction_id when the file is read again.
      await rm(rejectedPath, { force: true })
      throw new FileRejectedError(
        'FILE_CHANGED',
        'the file changed while it was imported (still being written?); it is read again from its start',
        { retriable: true, context: { file: rel } },
      )
    }
    await deps.hooks?.step?.('published', rel)
    if (receipt.status === 'processed') {
      await deps.sql`
        insert into import_files (sha256, file_name, rows_read, rows_accepted, rows_rejected)
        values (${sha256}, ${rel}, ${receipt.rows_read}, ${receipt.rows_accepted}, ${receipt.rows_rejected})
        on conflict (sha256) do nothing`
    }
    await deps.hooks?.step?.('recorded', rel)
    await conclude(
      file,
      path,
      rel,
      receipt.status === 'processed' ? 'processed' : 'failed',
      receipt,
      rejectedPath,
    )
    deps.metrics?.observe(receipt)
    const summary = {
      file: rel,
      status: receipt.status,
      rows: receipt.rows_read,
      accepted: receipt.rows_accepted,
      rejected: receipt.rows_rejected,
      rowsPerSecond: receipt.rows_per_second,
    }
    if (receipt.error) log.warn({ ...summary, code: receipt.error.code }, receipt.error.message)
    else log.info(summary, 'file imported')
  }

  return {
    async start() {
      await ensureStateDirs(inputDir)
      // Whatever a crash left in processing/ is imported again from the start; the processor's
      // journal drops the duplicates by transaction_id.
      for (const left of await leftInProcessing(inputDir)) {
        log.warn({ file: left.rel }, 'resuming a file left in processing/ by an earlier run')
        let opened: Opened
        try {
          opened = await openAdmitted(inputDir, left.path, config.importer.maxFileBytes)
        } catch {
          continue
        }
        if (!opened.ok) {
          await refuse(left.path, left.rel, opened)
          continue
        }
        try {
          await importClaimed(opened.file, left.path, left.rel, true)
        } finally {
          await opened.file.close()
        }
      }
      const settle = config.importer.settleMs
      const watching = watchFolder({
        inputDir,
        settleMs: settle,
        rescanMs: config.importer.rescanMs,
        log,
        ready: enqueue,
        ignored: deps.hooks?.ignored,
      })
      folder = watching
      await watching.ready
      log.info({ inputDir, settleMs: settle }, 'watching for CSV files')
    },
    async stop() {
      stopping = true
      // Aborting ends retry waits; a file being published finishes, one waiting to retry stays in processing/.
      abort.abort()
      await folder?.close()
      await worker
    },
    idle() {
      return worker ? new Promise((resolve) => idleWaiters.push(resolve)) : Promise.resolve()
    },
  }
}
