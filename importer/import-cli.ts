// `stockflow import FILE…`: imports files once, without watching or moving them.

import { rm, stat } from 'node:fs/promises'
import { basename } from 'node:path'
import { parseArgs } from 'node:util'
import { outputPath, type Receipt } from '../ledger/input-folder.ts'
import { loadConfig } from '../lib/config.ts'
import { UsageError } from '../lib/errors.ts'
import {
  createIdempotentProducer,
  createKafka,
  ensureTopics,
  pipelineTopics,
  refusedByBroker,
} from '../lib/kafka.ts'
import { createLogger } from '../lib/log.ts'
import { createRegistry } from '../lib/registry.ts'
import { pathSource, sha256Of } from './admitted-file.ts'
import { createImportEncoders } from './encoders.ts'
import { importFile } from './import-file.ts'
import { itemHeaderOf } from './item-file.ts'
import { claimKeyOf, publishFileFailure } from './outcomes.ts'
import { createPublisher } from './publisher.ts'
import { refusedReceipt, writeReceipt } from './receipt.ts'

type PathSource = ReturnType<typeof pathSource>

/** The one-shot import uses no database, and the item master is nothing else. */
export const ITEM_FILE_REFUSAL =
  'it is an item file (item_number,name[,unit]); item files are loaded into the item master by the watching importer: drop it into the input folder (INPUT_DIR) or upload it in the console'

const USAGE = `usage: stockflow import FILE…

Imports each FILE once, as the importer would, without watching a folder or moving the file: its rows go
to the events topic, its rejected rows to errors, and its receipt (and rejected rows, if any) are written
beside it as FILE.receipt.json and FILE.rejected.csv. One line per file on stdout; logs go to stderr.
Exits 0 when every row was accepted, 2 when some were rejected, 1 when a file failed.

An item file (header item_number,name[,unit]) is not imported here: it goes into the item master, which
lives in Postgres, so drop it into the input folder or upload it in the console instead.`

/** The files, or undefined when help was asked for. */
export function parseImportArgs(argv: string[]): string[] | undefined {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { help: { type: 'boolean', short: 'h', default: false } },
  })
  if (values.help) return undefined
  if (positionals.length === 0) throw new UsageError('USAGE', `${USAGE}\n\nName at least one FILE.`)
  return positionals
}

/** 0: every row accepted; 2: some rows rejected; 1: a file failed or could not be published. */
export async function runImportCli(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const positionals = parseImportArgs(argv)
  if (!positionals) {
    console.log(USAGE)
    return 0
  }
  const config = loadConfig(env)
  const log = createLogger({
    name: 'import',
    level: config.log.level === 'info' ? 'warn' : config.log.level,
    stderr: true,
  })
  const kafka = createKafka(config.kafka, log, `${config.kafka.clientId}-import-cli`)
  const admin = kafka.admin()
  await admin.connect()
  await ensureTopics(admin, pipelineTopics(config.topics))
  await admin.disconnect()
  const registry = createRegistry(config.registry)
  const { movements, errors } = await createImportEncoders(registry, config)
  const producer = createIdempotentProducer(kafka, { retries: 5 })
  await producer.connect()
  // A file that fails as a whole goes on `errors` as the watcher reports it, so the alerter tells someone;
  // the one-shot import records no outcome (no database), and that is the only difference.
  const failures = { producer, errors, topics: config.topics, clock: Date.now }
  const conclude = async (file: string, source: PathSource, receipt: Receipt) => {
    await publishFileFailure(failures, receipt, { key: await claimKeyOf(source, receipt.sha256) })
    await writeReceipt(outputPath(file, '.receipt.json'), receipt)
    const detail = receipt.error ? ` ${receipt.error.code}: ${receipt.error.message}` : ''
    console.log(
      `${file}: ${receipt.status}, ${receipt.rows_read} rows, ${receipt.rows_accepted} accepted, ${receipt.rows_rejected} rejected, ${receipt.rows_per_second} rows/s${detail}`,
    )
  }
  let code = 0
  try {
    for (const file of positionals) {
      let read: { source: PathSource; sha256: string } | undefined
      try {
        const source = pathSource(file, (await stat(file)).size)
        if (await itemHeaderOf(source)) {
          code = 1
          console.error(`${file}: not imported: ${ITEM_FILE_REFUSAL}`)
          continue
        }
        read = { source, sha256: await sha256Of(source) }
        const publisher = createPublisher({
          producer,
          batchRows: config.importer.batchRows,
          batchBytes: config.importer.batchBytes,
          lingerMs: config.importer.lingerMs,
          maxQueuedBatches: config.importer.maxInFlight,
        })
        const receipt = await importFile(
          { publisher, movements, errors, topics: config.topics, log, clock: Date.now },
          {
            source,
            name: basename(file),
            sha256: read.sha256,
            rejectedPath: outputPath(file, '.rejected.csv'),
          },
        )
        await conclude(file, source, receipt)
        if (receipt.status === 'failed') code = 1
        else if (receipt.rows_rejected > 0 && code === 0) code = 2
      } catch (err) {
        code = 1
        const refused = refusedByBroker(err)
        if (!refused || !read) {
          console.error(`${file}: failed: ${(err as Error).message}`)
          continue
        }
        try {
          // A refused request may have been written in part; the next request needs a new producer id.
          await producer.renew()
          await rm(outputPath(file, '.rejected.csv'), { force: true })
          const content = { sha256: read.sha256, bytes: read.source.size }
          await conclude(file, read.source, refusedReceipt(basename(file), refused, content, Date.now()))
        } catch (e) {
          console.error(
            `${file}: failed: ${(err as Error).message}; reporting it failed too: ${(e as Error).message}`,
          )
        }
      }
    }
  } finally {
    await producer.disconnect()
  }
  return code
}
