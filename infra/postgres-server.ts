// A private PostgreSQL cluster (initdb + pg_ctl from Debian's binaries) on loopback.

import { createHash } from 'node:crypto'
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { appendFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import postgres from 'postgres'
import { type RunAs, run, waitFor, which } from './processes.ts'

// A local development cluster on loopback only; production sets its own passwords.
const APP_PASSWORD = 'stockflow_app'
const WEB_PASSWORD = 'stockflow_web'

export interface PostgresServerOptions {
  dataDir: string
  port: number
  user?: string
  password?: string
  database?: string
}

export interface PostgresServer {
  /** The owner: runs migrations. */
  readonly url: string
  /** The services' least-privilege role (see db/migrations/004_app_role.sql). */
  readonly appUrl: string
  /** The web console's read-only role (see db/migrations/009_web_console.sql). */
  readonly webUrl: string
  readonly logFile: string
  start(): Promise<void>
  /** `pg_ctl -m immediate`: a crash as far as clients can tell; WAL recovery runs on the next start. */
  crash(): Promise<void>
  stop(): Promise<void>
  /** The postmaster's pid, from its pid file, while it runs. */
  pid(): number | undefined
}

/** A PostgreSQL program: the one on PATH, else the newest of Debian's versioned packages. */
export async function findPostgresProgram(program: string): Promise<string | undefined> {
  const onPath = await which(program)
  if (onPath) return onPath
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : []
  for (const v of versions) {
    if (existsSync(join(root, v, 'bin', program))) return join(root, v, 'bin', program)
  }
  return undefined
}

async function findPgBin(): Promise<string> {
  const initdb = await findPostgresProgram('initdb')
  if (initdb) return dirname(realpathSync(initdb))
  throw new Error(
    'PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them with ' +
      "'apt-get install postgresql', set DATABASE_URL to an existing server, or use docker-compose.yml.",
  )
}

/** initdb refuses to run as root, so root runs the cluster as the `postgres` system user. */
async function runAsFor(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined
  try {
    const uid = Number((await run('id', ['-u', 'postgres'])).trim())
    const gid = Number((await run('id', ['-g', 'postgres'])).trim())
    return { uid, gid }
  } catch {
    throw new Error(
      "Running as root needs the 'postgres' system user (apt-get install postgresql creates it).",
    )
  }
}

/**
 * Root runs the cluster as `postgres`, which cannot pass a private folder above the stack folder (a clone
 * under /root, or in a mkdtemp folder). Then the cluster lives in a folder of postgres's own, named after
 * the stack folder, and a marker in the stack folder records it: a fresh stack (marker gone) starts empty.
 */
async function placeHome(own: string, runAs: RunAs): Promise<string> {
  const reachable = await run('test', ['-w', own], { runAs }).then(
    () => true,
    () => false,
  )
  if (reachable) return own
  const base = existsSync('/var/lib/postgresql') ? '/var/lib/postgresql' : tmpdir()
  const elsewhere = join(base, 'stockflow', createHash('sha256').update(own).digest('hex').slice(0, 16))
  const marker = join(own, 'location')
  if (!existsSync(marker)) {
    rmSync(elsewhere, { recursive: true, force: true })
    writeFileSync(marker, `${elsewhere}\n`)
  }
  mkdirSync(elsewhere, { recursive: true })
  chownSync(dirname(elsewhere), runAs.uid, runAs.gid)
  chownSync(elsewhere, runAs.uid, runAs.gid)
  return elsewhere
}

export function createPostgresServer(o: PostgresServerOptions): PostgresServer {
  const user = o.user ?? 'stockflow'
  const password = o.password ?? 'stockflow'
  const database = o.database ?? 'stockflow'
  const url = `postgres://${user}:${password}@127.0.0.1:${o.port}/${database}`
  const appUrl = `postgres://stockflow_app:${APP_PASSWORD}@127.0.0.1:${o.port}/${database}`
  const webUrl = `postgres://stockflow_web:${WEB_PASSWORD}@127.0.0.1:${o.port}/${database}`
  // The cluster's folder: inside the stack folder, unless the postgres user cannot reach it (see placeHome).
  const own = join(o.dataDir, 'pg')
  let home = own
  let data = join(home, 'data')
  let sock = join(home, 'sock')
  let logFile = join(home, 'postgres.log')
  let bin = ''
  let runAs: RunAs | undefined

  const pgCtl = (args: string[]) => run(join(bin, 'pg_ctl'), ['-D', data, ...args], { runAs })

  async function init(): Promise<void> {
    if (existsSync(join(data, 'PG_VERSION'))) return
    mkdirSync(sock, { recursive: true })
    const pwfile = join(home, '.pwfile')
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 })
    if (runAs) for (const p of [home, sock, pwfile]) chownSync(p, runAs.uid, runAs.gid)
    await run(
      join(bin, 'initdb'),
      ['-D', data, '-U', user, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C'],
      { runAs },
    )
    await appendFile(
      join(data, 'postgresql.conf'),
      [
        '',
        '# stockflow local stack',
        `port = ${o.port}`,
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${sock}'`,
        'max_connections = 200',
        'shared_buffers = 128MB',
        'synchronous_commit = on',
        // A backend that evicts dirty pages has the kernel start writing them as it goes, so a bulk load leaves
        // less in the page cache for one late writeback burst, which stalls commits' WAL fsyncs behind it
        // (seen as 300-650 ms outliers in the bench's latency phase, together with the broker's log).
        'backend_flush_after = 256kB',
        "log_min_messages = 'warning'",
        '',
      ].join('\n'),
    )
  }

  async function createDatabase(): Promise<void> {
    const admin = postgres(`postgres://${user}:${password}@127.0.0.1:${o.port}/postgres`, {
      max: 1,
      onnotice: () => {},
      connect_timeout: 5,
    })
    try {
      await waitFor('postgres', async () => (await admin`select 1 as ok`).length === 1 || undefined, {
        timeoutMs: 30_000,
        logFile,
      })
      const exists = await admin`select 1 from pg_database where datname = ${database}`
      if (exists.length === 0) await admin.unsafe(`create database "${database}"`)
      // The roles' grants come from the migrations; the local stack only lets them log in.
      for (const [role, secret] of [
        ['stockflow_app', APP_PASSWORD],
        ['stockflow_web', WEB_PASSWORD],
      ] as const) {
        const found = await admin`select 1 from pg_roles where rolname = ${role}`
        if (found.length === 0) await admin.unsafe(`create role ${role} login password '${secret}'`)
        else await admin.unsafe(`alter role ${role} login password '${secret}'`)
      }
    } finally {
      await admin.end({ timeout: 1 })
    }
  }

  return {
    url,
    appUrl,
    webUrl,
    get logFile() {
      return logFile
    },
    pid() {
      const file = join(data, 'postmaster.pid')
      if (!existsSync(file)) return undefined
      const pid = Number(readFileSync(file, 'utf8').split('\n')[0])
      return Number.isInteger(pid) && pid > 0 ? pid : undefined
    },
    async start() {
      bin = bin || (await findPgBin())
      runAs = await runAsFor()
      mkdirSync(own, { recursive: true })
      if (runAs) {
        // The postgres user must be able to reach its folder.
        chmodSync(o.dataDir, 0o755)
        chownSync(own, runAs.uid, runAs.gid)
        home = await placeHome(own, runAs)
        data = join(home, 'data')
        sock = join(home, 'sock')
        logFile = join(home, 'postgres.log')
      }
      await init()
      await pgCtl(['-l', logFile, '-w', '-t', '60', 'start'])
      await createDatabase()
    },
    async crash() {
      await pgCtl(['-w', 'stop', '-m', 'immediate']).catch(() => {})
    },
    async stop() {
      if (!bin) return
      await pgCtl(['-w', '-t', '60', 'stop', '-m', 'fast']).catch(() => {})
    },
  }
}
