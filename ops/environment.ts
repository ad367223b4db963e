// Where a command's settings come from, so that every command works from a second terminal in the
// project folder with nothing exported. First the process environment, then `.env` in the folder, then
// the local stack that `npm start` or `npm run stack` is running there (its URLs, from the stack's lock
// file). Each URL keeps a note of its source, so an unreachable service can be named with its origin.
import { existsSync, readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { parseEnv } from 'node:util'
import { readRunningStack, type StackEnv } from '../infra/stack.ts'
import { redactUrl } from '../lib/config.ts'

export type Source = 'environment' | '.env' | 'local stack'

export const URL_KEYS = ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'DATABASE_URL'] as const
export type UrlKey = (typeof URL_KEYS)[number]

export interface Resolved {
  env: NodeJS.ProcessEnv
  /** Where each of the three service URLs came from; absent when none of the layers set it. */
  sources: Partial<Record<UrlKey, Source>>
}

/** Layers the three sources; an empty value counts as unset. Pure, for the tests. */
export function layerEnv(
  processEnv: NodeJS.ProcessEnv,
  dotenv: Record<string, string>,
  stack: StackEnv | undefined,
): Resolved {
  const env: NodeJS.ProcessEnv = {}
  const sources: Resolved['sources'] = {}
  const layers: [Source, Record<string, string | undefined>][] = [
    ['local stack', { ...stack }],
    ['.env', dotenv],
    ['environment', processEnv],
  ]
  for (const [source, vars] of layers) {
    for (const [k, v] of Object.entries(vars)) {
      if (v === undefined || v === '') continue
      env[k] = v
      if ((URL_KEYS as readonly string[]).includes(k)) sources[k as UrlKey] = source
    }
  }
  return { env, sources }
}

/** The settings for a command run in `folder`, where `npm start` keeps its stack in `.stack/dev`. */
export function resolveEnv(
  processEnv: NodeJS.ProcessEnv,
  folder: string,
  opts: { useRunningStack: boolean },
): Resolved {
  const dotenvPath = join(folder, '.env')
  const dotenv = existsSync(dotenvPath) ? parseEnv(readFileSync(dotenvPath, 'utf8')) : {}
  const stack = opts.useRunningStack ? readRunningStack(join(folder, '.stack', 'dev')) : undefined
  return layerEnv(processEnv, dotenv as Record<string, string>, stack)
}

/** "DATABASE_URL (postgres://u:***@h/db, from .env)": a setting as an operator can find it. */
export function describeSetting(resolved: Resolved, key: UrlKey): string {
  const value = resolved.env[key]
  if (value === undefined) return `${key} (not set)`
  return `${key} (${redactUrl(value)}, from ${resolved.sources[key] ?? 'environment'})`
}

/**
 * Where a setting points, for a reachability check; a string is a problem with the value itself. Brokers
 * are split as loadConfig splits them. A Postgres URL through a Unix socket is not checked.
 */
export function endpointsOf(key: UrlKey, value: string): { host: string; port: number }[] | string {
  if (key === 'KAFKA_BROKERS') {
    const brokers = value
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean)
    const parsed = brokers.map((b) => /^([^:\s]+):(\d{1,5})$/.exec(b))
    const bad = brokers.filter((_, i) => !parsed[i] || Number(parsed[i]![2]) > 65535)
    if (bad.length > 0) return `${bad.map((b) => `'${b}'`).join(', ')} is not host:port`
    return parsed.map((m) => ({ host: m![1]!, port: Number(m![2]) }))
  }
  if (!URL.canParse(value)) return 'is not a URL'
  const u = new URL(value)
  const socketHost = u.searchParams.get('host')
  if (u.hostname === '' || socketHost?.startsWith('/')) return []
  const fallback = u.protocol === 'https:' ? 443 : u.protocol.startsWith('postgres') ? 5432 : 80
  return [{ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || fallback) }]
}

function canConnect(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let socket: ReturnType<typeof connect>
    try {
      socket = connect({ host, port })
    } catch (err) {
      resolve((err as Error).message)
      return
    }
    const done = (problem: string | undefined) => {
      socket.destroy()
      resolve(problem)
    }
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`))
    socket.once('connect', () => done(undefined))
    socket.once('error', (err) => done((err as NodeJS.ErrnoException).code ?? err.message))
  })
}

/**
 * Checks that each setting in `keys` is present and that something listens where it points, so a
 * command fails with the variable's name and origin instead of a client's retry log.
 */
export async function preflight(
  resolved: Resolved,
  keys: readonly UrlKey[],
  timeoutMs = 2000,
): Promise<void> {
  const problems: string[] = []
  for (const key of keys) {
    const value = resolved.env[key]
    if (value === undefined) {
      problems.push(`${key} is not set, and no local stack is running in this folder`)
      continue
    }
    const endpoints = endpointsOf(key, value)
    if (typeof endpoints === 'string') {
      problems.push(`${describeSetting(resolved, key)}: ${endpoints}`)
      continue
    }
    // One answering broker is enough to bootstrap a Kafka client; so is the one database or registry.
    const answers = await Promise.all(endpoints.map(({ host, port }) => canConnect(host, port, timeoutMs)))
    if (endpoints.length > 0 && answers.every((a) => a !== undefined)) {
      const where = endpoints.map(({ host, port }, i) => `${host}:${port} (${answers[i]})`).join(', ')
      problems.push(`${describeSetting(resolved, key)} is not reachable at ${where}`)
    }
  }
  if (problems.length === 0) return
  const fromStack = keys.some((k) => resolved.sources[k] === 'local stack')
  throw new Error(
    `${problems.join('; ')}.\n` +
      (fromStack
        ? 'The local stack in this folder is not answering; restart it with npm start or npm run stack.'
        : 'Start the local stack here (npm start, or npm run stack), or point the variables at running ' +
          'services; a variable set in the environment or .env stops npm start from starting that part itself.'),
  )
}
