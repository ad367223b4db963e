// The local stack: Kafka, the schema registry and Postgres, each started unless its URL is configured.
// Shared by `npm run stack`, `stockflow start`, the vitest global setup, the bench and the chaos harness.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { cacheDirOf } from './cache-dir.ts'
import { createKafkaServer, DEFAULT_KAFKA_VERSION, type KafkaServer } from './kafka-server.ts'
import { createPostgresServer, type PostgresServer } from './postgres-server.ts'
import { killGroup, pidAlive, processStartTime, sameProcessAlive, which } from './processes.ts'
import { createRegistryServer, type RegistryServer } from './registry-server.ts'

export interface StackPorts {
  kafka: number
  kafkaController: number
  registry: number
  postgres: number
}

export const DEV_PORTS: StackPorts = {
  kafka: 19092,
  kafkaController: 19093,
  registry: 18081,
  postgres: 15432,
}
export const TEST_PORTS: StackPorts = {
  kafka: 29092,
  kafkaController: 29093,
  registry: 28081,
  postgres: 25432,
}

export interface StackOptions {
  /** Folder for data, logs and the lock file. */
  dir: string
  cacheDir?: string
  ports?: Partial<StackPorts>
  /** Already-running services; a configured URL means that part is not started. */
  existing?: { KAFKA_BROKERS?: string; SCHEMA_REGISTRY_URL?: string; DATABASE_URL?: string }
  /** The broker's release (infra/kafka-server.ts says which lines); default DEFAULT_KAFKA_VERSION. */
  kafkaVersion?: string
  /** Start from empty data folders (tests want a clean broker and database each run). */
  fresh?: boolean
  /** Also open a SASL/SCRAM-SHA-512 listener on the broker (security tests). */
  scram?: { port: number; username: string; password: string }
  log?: (msg: string) => void
}

export interface StackEnv {
  KAFKA_BROKERS: string
  SCHEMA_REGISTRY_URL: string
  DATABASE_URL: string
}

export interface Stack {
  readonly env: StackEnv
  readonly dir: string
  /** Present only for the parts this stack started itself. */
  readonly kafka?: KafkaServer
  readonly registry?: RegistryServer
  readonly postgres?: PostgresServer
  stop(): Promise<void>
}

/**
 * `stack.lock.json` in the stack folder, mode 0600 (it holds the database passwords): who runs the stack,
 * its children, and, once every part is up, the URLs that other terminals in the folder use.
 */
interface LockFile {
  pid: number
  /** The owner's start time (processStartTime), so a reused pid is not taken for the owner. */
  startTime?: number
  env: StackEnv
  /** The least-privilege role's URL, when this stack started Postgres. */
  appUrl?: string
  /** The web console's read-only role's URL, likewise. */
  webUrl?: string
  ready: boolean
  children: number[]
}

/** The URLs of the stack running in `dir`, if one is running there and is up. */
export function readRunningStack(
  dir: string,
): (StackEnv & { DATABASE_APP_URL?: string; DATABASE_WEB_URL?: string }) | undefined {
  const lockPath = join(dir, 'stack.lock.json')
  if (!existsSync(lockPath)) return undefined
  try {
    const lock = JSON.parse(readFileSync(lockPath, 'utf8')) as LockFile
    if (!lock.ready || !sameProcessAlive(lock.pid, lock.startTime)) return undefined
    return {
      ...lock.env,
      ...(lock.appUrl ? { DATABASE_APP_URL: lock.appUrl } : {}),
      ...(lock.webUrl ? { DATABASE_WEB_URL: lock.webUrl } : {}),
    }
  } catch {
    return undefined // half-written or foreign: no stack to use
  }
}

/** The stack's ports from STACK_*_PORT, as `npm start`, `npm run stack` and the docs name them. */
export function stackPorts(env: NodeJS.ProcessEnv): StackPorts {
  const port = (key: string, fallback: number) => {
    const raw = env[key]
    if (raw === undefined || raw === '') return fallback
    const n = Number(raw)
    if (!Number.isInteger(n) || n < 1 || n > 65535)
      throw new Error(`${key} must be a port number, got '${raw}'`)
    return n
  }
  return {
    kafka: port('STACK_KAFKA_PORT', DEV_PORTS.kafka),
    kafkaController: port('STACK_KAFKA_CONTROLLER_PORT', DEV_PORTS.kafkaController),
    registry: port('STACK_REGISTRY_PORT', DEV_PORTS.registry),
    postgres: port('STACK_POSTGRES_PORT', DEV_PORTS.postgres),
  }
}

/** STOCKFLOW_CACHE_DIR, `~` expanded (infra/cache-dir.ts); callers with `.env` read pass their settings. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return cacheDirOf(env)
}

/** Reads a stack's lock; a dead owner's leftover children are killed so their ports free up. */
function claimLock(lockPath: string): void {
  if (!existsSync(lockPath)) return
  const lock = JSON.parse(readFileSync(lockPath, 'utf8')) as LockFile
  if (sameProcessAlive(lock.pid, lock.startTime) && lock.pid !== process.pid) {
    throw new Error(
      `A stack is already running in this folder (pid ${lock.pid}, ${lockPath}); other commands here use it. ` +
        `Its settings:\n${formatEnv(lock.env)}`,
    )
  }
  for (const child of lock.children) {
    killGroup(child, 'SIGKILL')
    if (pidAlive(child)) process.kill(child, 'SIGKILL')
  }
  rmSync(lockPath, { force: true })
}

export function formatEnv(env: StackEnv): string {
  return Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')
}

async function checkTools(needJava: boolean): Promise<void> {
  if (!needJava) return
  const missing = []
  if (!(await which('java'))) missing.push('a Java 17+ runtime (apt-get install openjdk-17-jre-headless)')
  if (!(await which('mvn'))) missing.push('Maven (apt-get install maven)')
  if (missing.length > 0) {
    throw new Error(
      `The local stack needs ${missing.join(' and ')} to fetch and run Kafka and the registry. ` +
        'Install them, or run the services with docker-compose.kafka.yml and set KAFKA_BROKERS and SCHEMA_REGISTRY_URL.',
    )
  }
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const dir = resolve(opts.dir)
  const cacheDir = opts.cacheDir ?? defaultCacheDir()
  const ports = { ...DEV_PORTS, ...opts.ports }
  const log = opts.log ?? (() => {})
  const existing = opts.existing ?? {}
  const lockPath = join(dir, 'stack.lock.json')

  mkdirSync(dir, { recursive: true })
  claimLock(lockPath)
  if (opts.fresh) {
    for (const sub of ['kafka', 'registry', 'pg']) rmSync(join(dir, sub), { recursive: true, force: true })
  }
  await checkTools(!existing.KAFKA_BROKERS || !existing.SCHEMA_REGISTRY_URL)

  const kafka = existing.KAFKA_BROKERS
    ? undefined
    : createKafkaServer({
        cacheDir,
        dataDir: join(dir, 'kafka'),
        version: opts.kafkaVersion,
        port: ports.kafka,
        controllerPort: ports.kafkaController,
        scram: opts.scram,
      })
  const registry = existing.SCHEMA_REGISTRY_URL
    ? undefined
    : createRegistryServer({ cacheDir, dataDir: join(dir, 'registry'), port: ports.registry })
  const pg = existing.DATABASE_URL ? undefined : createPostgresServer({ dataDir: dir, port: ports.postgres })

  const env: StackEnv = {
    KAFKA_BROKERS: existing.KAFKA_BROKERS ?? kafka!.brokers,
    SCHEMA_REGISTRY_URL: existing.SCHEMA_REGISTRY_URL ?? registry!.url,
    DATABASE_URL: existing.DATABASE_URL ?? pg!.url,
  }
  const stopAll = async () => {
    await Promise.all([kafka?.stop(), registry?.stop(), pg?.stop()])
    rmSync(lockPath, { force: true })
  }
  const writeLock = (ready: boolean) => {
    const children = [kafka?.pid(), registry?.pid(), pg?.pid()].filter((p): p is number => p !== undefined)
    const lock: LockFile = {
      pid: process.pid,
      startTime: processStartTime(process.pid),
      env,
      appUrl: pg?.appUrl,
      webUrl: pg?.webUrl,
      ready,
      children,
    }
    // Written aside and renamed: a reader in another terminal sees the old lock or the new, never half.
    const next = `${lockPath}.${process.pid}.tmp`
    writeFileSync(next, JSON.stringify(lock, null, 2), { mode: 0o600 })
    chmodSync(next, 0o600)
    renameSync(next, lockPath)
  }

  writeLock(false)
  const started = Date.now()
  try {
    // The JVMs start in parallel: the registry's start-up overlaps the broker's.
    await Promise.all([
      kafka
        ?.start()
        .then(() =>
          log(
            `kafka ${opts.kafkaVersion ?? DEFAULT_KAFKA_VERSION} ${kafka.brokers} ready (${Date.now() - started} ms)`,
          ),
        ),
      registry?.start().then(() => log(`registry ${registry.url} ready (${Date.now() - started} ms)`)),
      pg?.start().then(() => log(`postgres 127.0.0.1:${ports.postgres} ready (${Date.now() - started} ms)`)),
    ])
  } catch (err) {
    await stopAll()
    throw err
  }
  writeLock(true)
  return { env, dir, kafka, registry, postgres: pg, stop: stopAll }
}
