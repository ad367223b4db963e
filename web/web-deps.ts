// What the console's pages are given: the one type every page module takes, kept apart from the server so
// that the page modules and the server do not import each other.
import type { PartitionLag } from '../ledger/lag.ts'
import type { RedriveSend } from '../ledger/redrive.ts'
import type { RevertSend } from '../ledger/revert.ts'
import type { Config } from '../lib/config.ts'
import type { Sql } from '../lib/db.ts'
import type { Logger } from '../lib/log.ts'
import type { TlsMaterial } from './tls.ts'

export interface ServiceReadiness {
  service: string
  url: string
  ready: boolean
  detail: string
}

/** What the Pipeline page asks the outside world: Kafka for lag, each service for its readiness. */
export interface PipelineProbe {
  lag(): Promise<Record<string, PartitionLag[]>>
  readiness(): Promise<ServiceReadiness[]>
}

export interface WebDeps {
  sql: Sql
  log: Logger
  clock: () => number
  config: Pick<Config, 'web' | 'importer' | 'processor' | 'topics'>
  /** Sends re-driven movements to `events`; without it the console previews only. */
  redriveSend: RedriveSend | undefined
  /** Publishes a reverted file's reversals; without it the console previews only. */
  revertSend?: RevertSend
  pipeline: PipelineProbe
  /** The certificate and key of config.web.tls, read: with them the console serves https only. */
  tls?: TlsMaterial
}
