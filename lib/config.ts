// The one place configuration is parsed. Services' main.ts pass process.env in; tests pass short timings.
import { ConfigError } from './errors.ts'
import { parseTrustProxy, type TrustProxy } from './trust-proxy.ts'

export interface KafkaConfig {
  brokers: string[]
  clientId: string
  ssl: boolean
  sslCaFile: string | undefined
  sasl:
    | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
    | undefined
}

/** V8 heap bounds for one service process (see lib/runtime.ts). */
export interface MemoryConfig {
  /** Old generation, in MB: --max-old-space-size. */
  heapMb: number
  /** Each young-generation semi-space, in MB: --max-semi-space-size. */
  youngMb: number
}

export type ServiceName = 'importer' | 'processor' | 'alerter' | 'web'

export interface Config {
  kafka: KafkaConfig
  registry: {
    url: string
    username: string | undefined
    password: string | undefined
    /** How long a schema id the registry cannot give is waited for before its messages are UNDECODABLE. */
    unknownSchemaGraceMs: number
  }
  db: {
    url: string
    schema: string
    poolMax: number
    appPassword: string | undefined
    webPassword: string | undefined
  }
  topics: {
    events: string
    errors: string
    lowStock: string
    eventsPartitions: number
    errorsPartitions: number
    lowStockPartitions: number
  }
  importer: {
    inputDir: string
    settleMs: number
    /** How often the whole folder is looked at again, for a file whose arrival the watcher missed. */
    rescanMs: number
    maxFileBytes: number
    force: boolean
    batchRows: number
    batchBytes: number
    lingerMs: number
    maxInFlight: number
    port: number
  }
  processor: {
    groupId: string
    maxAttempts: number
    retryScheduleMs: number[]
    parkTimeoutMs: number
    lowStockDefault: number
    retryPollMs: number
    outboxPollMs: number
    relayStallMs: number
    /** How often a halted partition (topic recreated below the ledger) is checked for an operator's accept. */
    haltRecheckMs: number
    /** Bounds on one fetch response, in bytes: the consumer's buffers are most of the processor's memory. */
    fetchMaxBytes: number
    fetchPartitionMaxBytes: number
    port: number
  }
  alerter: {
    groupId: string
    errorCodes: string[]
    lowStockSeverities: string[]
    throttleMs: number
    digestWindowMs: number
    /** How long a file's rejected rows wait for the file's outcome before they are alerted anyway. */
    importHoldMs: number
    webhookUrl: string | undefined
    webhookTimeoutMs: number
    webhookRetryMs: number[]
    /** Attempts before an alert is given up as `failed`. */
    webhookMaxAttempts: number
    port: number
  }
  web: {
    host: string
    port: number
    /** Required unless the console binds to loopback only; with it set, every page needs a login. */
    password: string | undefined
    /** Seed of the session-cookie key; without it sessions last as long as the process. */
    sessionSecret: string | undefined
    /** PEM files the console serves https with; both keys or neither. */
    tls: { certFile: string; keyFile: string } | undefined
    /** Peers whose X-Forwarded-For/-Proto are believed (Fastify's trustProxy): the proxy in front, if any. */
    trustProxy: TrustProxy
    /** The read-only role's URL; without it the console uses DATABASE_URL as stockflow_web (SET ROLE). */
    databaseUrl: string | undefined
    loginPerMinute: number
    pageSize: number
    /** Host names the console answers to; empty: this machine's own names, or any with a password. */
    allowedHosts: string[]
    /** Where the Pipeline page asks each service whether it is ready. */
    readinessUrls: Record<'importer' | 'processor' | 'alerter', string>
  }
  log: { level: string }
  /** Where /healthz, /readyz and /metrics listen: loopback, unless a container publishes them. */
  healthHost: string
  memory: Record<ServiceName, MemoryConfig>
}

type Env = Record<string, string | undefined>

/** Collects every problem instead of stopping at the first, so one run shows the whole fix list. */
class Reader {
  readonly problems: string[] = []
  private readonly env: Env
  constructor(env: Env) {
    this.env = env
  }

  private raw(key: string): string | undefined {
    const v = this.env[key]
    return v === undefined || v.trim() === '' ? undefined : v.trim()
  }

  str(key: string, fallback: string): string {
    return this.raw(key) ?? fallback
  }

  optional(key: string): string | undefined {
    return this.raw(key)
  }

  required(key: string): string {
    const v = this.raw(key)
    if (v === undefined) this.problems.push(`${key} is required`)
    return v ?? ''
  }

  int(key: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.raw(key)
    if (v === undefined) return fallback
    const n = Number(v)
    if (!/^-?\d+$/.test(v) || n < min || n > max) {
      this.problems.push(`${key} must be an integer between ${min} and ${max}, got '${v}'`)
      return fallback
    }
    return n
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.raw(key)?.toLowerCase()
    if (v === undefined) return fallback
    if (['1', 'true', 'yes', 'on'].includes(v)) return true
    if (['0', 'false', 'no', 'off'].includes(v)) return false
    this.problems.push(`${key} must be true/false (or 1/0), got '${v}'`)
    return fallback
  }

  list(key: string, fallback: string[]): string[] {
    const v = this.raw(key)
    return v === undefined
      ? fallback
      : v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
  }

  intList(key: string, fallback: number[]): number[] {
    const items = this.list(key, fallback.map(String))
    const nums = items.map(Number)
    if (nums.length === 0 || nums.some((n) => !Number.isInteger(n) || n < 0)) {
      this.problems.push(
        `${key} must be a comma-separated list of non-negative integers, got '${items.join(',')}'`,
      )
      return fallback
    }
    return nums
  }

  /** A URL only when one is given; a default built from other keys is not this key's problem. */
  optionalUrl(key: string): string | undefined {
    const v = this.raw(key)
    if (v !== undefined && !URL.canParse(v)) this.problems.push(`${key} must be a URL, got '${redactUrl(v)}'`)
    return v
  }

  url(key: string, fallback?: string): string {
    const v = fallback === undefined ? this.required(key) : this.str(key, fallback)
    if (v && !URL.canParse(v)) this.problems.push(`${key} must be a URL, got '${redactUrl(v)}'`)
    return v
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const v = this.raw(key)
    if (v === undefined) return fallback
    if (!(allowed as readonly string[]).includes(v)) {
      this.problems.push(`${key} must be one of ${allowed.join(', ')}, got '${v}'`)
      return fallback
    }
    return v as T
  }
}

/** Hides the password of a URL, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@')
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v)
    Object.freeze(o)
  }
  return o
}

function readKafka(r: Reader): KafkaConfig {
  const mechanism = r.optional('KAFKA_SASL_MECHANISM')
  let sasl: KafkaConfig['sasl']
  if (mechanism !== undefined) {
    const m = r.oneOf(
      'KAFKA_SASL_MECHANISM',
      ['plain', 'scram-sha-256', 'scram-sha-512'] as const,
      'scram-sha-512',
    )
    sasl = {
      mechanism: m,
      username: r.required('KAFKA_SASL_USERNAME'),
      password: r.required('KAFKA_SASL_PASSWORD'),
    }
  }
  const brokers = r.list('KAFKA_BROKERS', [])
  if (brokers.length === 0) r.problems.push('KAFKA_BROKERS is required (host:port[,host:port…])')
  for (const b of brokers)
    if (!/^[^:\s]+:\d+$/.test(b)) r.problems.push(`KAFKA_BROKERS entry '${b}' is not host:port`)
  return {
    brokers,
    clientId: r.str('KAFKA_CLIENT_ID', 'stockflow'),
    ssl: r.bool('KAFKA_SSL', false),
    sslCaFile: r.optional('KAFKA_SSL_CA_FILE'),
    sasl,
  }
}

// Defaults that keep each service within 200 MB RSS, measured with the 10M-row file and the 1M bench.
// The processor's young generation is larger: a fetch it applies stays alive across several 2 MB
// scavenges and was promoted whole, so old-generation marking took much of its CPU; 8 MB semi-spaces
// avoid that (figures in the README's performance section). HEAP_YOUNG_MB, when set, is the
// young size of every service that has no key of its own.
function readMemory(r: Reader): Config['memory'] {
  const sharedYoung =
    r.optional('HEAP_YOUNG_MB') === undefined ? undefined : r.int('HEAP_YOUNG_MB', 2, 1, 256)
  const heap = (heapKey: string, heapMb: number, youngKey: string, youngMb: number): MemoryConfig => ({
    heapMb: r.int(heapKey, heapMb, 16, 65_536),
    youngMb: r.int(youngKey, sharedYoung ?? youngMb, 1, 256),
  })
  return {
    importer: heap('IMPORT_HEAP_MB', 48, 'IMPORT_HEAP_YOUNG_MB', 2),
    processor: heap('PROCESS_HEAP_MB', 96, 'PROCESS_HEAP_YOUNG_MB', 8),
    alerter: heap('ALERT_HEAP_MB', 48, 'ALERT_HEAP_YOUNG_MB', 2),
    web: heap('WEB_HEAP_MB', 64, 'WEB_HEAP_YOUNG_MB', 2),
  }
}

function readDb(r: Reader): Config['db'] {
  const db = {
    url: r.url('DATABASE_URL'),
    schema: r.str('DATABASE_SCHEMA', 'public'),
    // The processor applies, retries parked sales, relays the outbox and re-checks halts at once: 3 at least.
    poolMax: r.int('DATABASE_POOL_MAX', 6, 3, 100),
    appPassword: r.optional('DATABASE_APP_PASSWORD'),
    webPassword: r.optional('DATABASE_WEB_PASSWORD'),
  }
  if (!/^[a-z_][a-z0-9_]*$/.test(db.schema)) {
    r.problems.push(`DATABASE_SCHEMA must be a lower-case SQL identifier, got '${db.schema}'`)
  }
  return db
}

/** 127.0.0.1/8, ::1 and localhost: addresses only this machine reaches. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

/** A bind address as a URL writes it: an IPv6 address in brackets. */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

/** A service's /readyz as seen from this machine: a wildcard bind address is reached on loopback. */
function readyUrl(host: string, port: number): string {
  return `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : urlHost(host)}:${port}/readyz`
}

function readTls(r: Reader): Config['web']['tls'] {
  const certFile = r.optional('WEB_TLS_CERT')
  const keyFile = r.optional('WEB_TLS_KEY')
  if (certFile !== undefined && keyFile !== undefined) return { certFile, keyFile }
  if (certFile !== undefined || keyFile !== undefined) {
    r.problems.push(
      `WEB_TLS_CERT and WEB_TLS_KEY go together (https needs both the certificate and its key); only ${certFile === undefined ? 'WEB_TLS_KEY' : 'WEB_TLS_CERT'} is set`,
    )
  }
  return undefined
}

function readTrustProxy(r: Reader): TrustProxy {
  const parsed = parseTrustProxy(r.optional('WEB_TRUST_PROXY'))
  if (parsed.problem === undefined) return parsed.trustProxy
  r.problems.push(parsed.problem)
  return false
}

function readWeb(
  r: Reader,
  healthHost: string,
  ports: { importer: number; processor: number; alerter: number },
): Config['web'] {
  const { importer: importerPort, processor: processorPort, alerter: alerterPort } = ports
  const web = {
    host: r.str('WEB_HOST', '127.0.0.1'),
    port: r.int('WEB_PORT', 8080, 0, 65535),
    password: r.optional('WEB_PASSWORD'),
    sessionSecret: r.optional('WEB_SESSION_SECRET'),
    tls: readTls(r),
    trustProxy: readTrustProxy(r),
    databaseUrl: r.optionalUrl('DATABASE_WEB_URL'),
    loginPerMinute: r.int('WEB_LOGIN_PER_MINUTE', 5, 1, 10_000),
    pageSize: r.int('WEB_PAGE_SIZE', 50, 5, 1000),
    allowedHosts: r.list('WEB_ALLOWED_HOSTS', []),
    // Defaults are not checked: an odd HEALTH_HOST must not stop the services, only the console's probe.
    readinessUrls: {
      importer: r.optionalUrl('IMPORTER_READY_URL') ?? readyUrl(healthHost, importerPort),
      processor: r.optionalUrl('PROCESSOR_READY_URL') ?? readyUrl(healthHost, processorPort),
      alerter: r.optionalUrl('ALERTER_READY_URL') ?? readyUrl(healthHost, alerterPort),
    },
  }
  if (!isLoopback(web.host) && web.password === undefined) {
    r.problems.push(
      `WEB_PASSWORD is required when WEB_HOST (${web.host}) is not a loopback address: the console would be open to the network`,
    )
  }
  // A browser drops a Secure cookie sent over http from a host other than its own loopback, and a password
  // typed there would cross the network in the clear: beyond loopback, a password needs https, served here
  // or by a declared proxy. On loopback, http stays allowed; the cookie is Secure only over https.
  if (
    !isLoopback(web.host) &&
    web.password !== undefined &&
    web.tls === undefined &&
    web.trustProxy === false
  ) {
    r.problems.push(
      `WEB_PASSWORD on plain http at WEB_HOST ${web.host} (not a loopback address): browsers would refuse the session cookie and the password would cross the network unencrypted. Set WEB_TLS_CERT and WEB_TLS_KEY to serve https, or WEB_TRUST_PROXY to the address of the https proxy in front of the console`,
    )
  }
  if (web.password !== undefined && web.password.length < 8) {
    r.problems.push('WEB_PASSWORD must be at least 8 characters')
  }
  if (web.sessionSecret !== undefined && web.sessionSecret.length < 32) {
    r.problems.push('WEB_SESSION_SECRET must be at least 32 characters')
  }
  return web
}

function readLog(r: Reader): Config['log'] {
  return {
    level: r.oneOf(
      'LOG_LEVEL',
      ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const,
      'info',
    ),
  }
}

/** The database and log settings alone, for `migrate`, which needs no broker or registry. */
export function loadMigrateConfig(env: Env): Pick<Config, 'db' | 'log'> {
  const r = new Reader(env)
  const config = { db: readDb(r), log: readLog(r) }
  if (r.problems.length > 0) throw new ConfigError(r.problems)
  return deepFreeze(config)
}

/** The database settings alone, for the tools that need nothing else (`psql`, `migrate`). */
export function loadDbConfig(env: Env): Config['db'] {
  const r = new Reader(env)
  const db = readDb(r)
  if (r.problems.length > 0) throw new ConfigError(r.problems)
  return deepFreeze(db)
}

export function loadConfig(env: Env): Config {
  const r = new Reader(env)
  const services: Omit<Config, 'web'> = {
    kafka: readKafka(r),
    registry: {
      url: r.url('SCHEMA_REGISTRY_URL'),
      username: r.optional('SCHEMA_REGISTRY_USERNAME'),
      password: r.optional('SCHEMA_REGISTRY_PASSWORD'),
      unknownSchemaGraceMs: r.int('REGISTRY_UNKNOWN_SCHEMA_GRACE_MS', 60_000, 0, 3_600_000),
    },
    db: readDb(r),
    topics: {
      events: r.str('TOPIC_EVENTS', 'events'),
      errors: r.str('TOPIC_ERRORS', 'errors'),
      lowStock: r.str('TOPIC_LOW_STOCK', 'low-stock'),
      eventsPartitions: r.int('EVENTS_PARTITIONS', 6, 1, 1000),
      errorsPartitions: r.int('ERRORS_PARTITIONS', 3, 1, 1000),
      lowStockPartitions: r.int('LOW_STOCK_PARTITIONS', 3, 1, 1000),
    },
    importer: {
      inputDir: r.str('INPUT_DIR', './input'),
      settleMs: r.int('IMPORT_SETTLE_MS', 250, 0, 600_000),
      rescanMs: r.int('IMPORT_RESCAN_MS', 30_000, 100, 3_600_000),
      // The in-file duplicate check holds at most 2^28 ids: some 18 GB of the shortest valid rows.
      maxFileBytes: r.int('IMPORT_MAX_FILE_BYTES', 2 * 1024 ** 3, 1, 16 * 1024 ** 3),
      force: r.bool('IMPORT_FORCE', false),
      batchRows: r.int('IMPORT_BATCH_ROWS', 1000, 1, 100_000),
      // Half the broker's default message.max.bytes: a request's batch for one partition must stay under it.
      batchBytes: r.int('IMPORT_BATCH_BYTES', 512 * 1024, 16 * 1024, 64 * 1024 ** 2),
      lingerMs: r.int('IMPORT_LINGER_MS', 20, 0, 10_000),
      maxInFlight: r.int('IMPORT_MAX_IN_FLIGHT', 8, 1, 1000),
      port: r.int('IMPORTER_PORT', 9464, 0, 65535),
    },
    processor: {
      groupId: r.str('PROCESS_GROUP_ID', 'stockflow-processor'),
      maxAttempts: r.int('PROCESS_MAX_ATTEMPTS', 6, 1, 1000),
      retryScheduleMs: r.intList('PROCESS_RETRY_SCHEDULE_MS', [1000, 5000, 30_000, 120_000, 600_000]),
      parkTimeoutMs: r.int('PROCESS_PARK_TIMEOUT_MS', 24 * 3600 * 1000, 1),
      lowStockDefault: r.int('LOW_STOCK_DEFAULT', 10, 0),
      retryPollMs: r.int('PROCESS_RETRY_POLL_MS', 500, 10, 600_000),
      outboxPollMs: r.int('OUTBOX_POLL_MS', 200, 10, 600_000),
      // How long the outbox relay may fail without a success before /readyz reports it.
      relayStallMs: r.int('PROCESS_RELAY_STALL_MS', 60_000, 100, 3_600_000),
      haltRecheckMs: r.int('PROCESS_HALT_RECHECK_MS', 5000, 10, 600_000),
      fetchMaxBytes: r.int('PROCESS_FETCH_MAX_BYTES', 4 * 1024 * 1024, 64 * 1024, 256 * 1024 * 1024),
      fetchPartitionMaxBytes: r.int(
        'PROCESS_FETCH_PARTITION_MAX_BYTES',
        1024 * 1024,
        16 * 1024,
        64 * 1024 * 1024,
      ),
      port: r.int('PROCESSOR_PORT', 9465, 0, 65535),
    },
    alerter: {
      groupId: r.str('ALERT_GROUP_ID', 'stockflow-alerter'),
      errorCodes: r.list('ALERT_ERROR_CODES', ['*']),
      lowStockSeverities: r.list('ALERT_LOW_STOCK_SEVERITIES', ['LOW', 'OUT_OF_STOCK']),
      throttleMs: r.int('ALERT_THROTTLE_MS', 15 * 60 * 1000, 0),
      digestWindowMs: r.int('ALERT_DIGEST_WINDOW_MS', 10_000, 0),
      importHoldMs: r.int('ALERT_IMPORT_HOLD_MS', 10 * 60 * 1000, 0),
      webhookUrl: r.optional('ALERT_WEBHOOK_URL'),
      webhookTimeoutMs: r.int('ALERT_WEBHOOK_TIMEOUT_MS', 5000, 1),
      webhookRetryMs: r.intList('ALERT_WEBHOOK_RETRY_MS', [1000, 5000, 30_000, 120_000]),
      webhookMaxAttempts: r.int('ALERT_WEBHOOK_MAX_ATTEMPTS', 10, 1, 1000),
      port: r.int('ALERTER_PORT', 9466, 0, 65535),
    },
    memory: readMemory(r),
    healthHost: r.str('HEALTH_HOST', '127.0.0.1'),
    log: readLog(r),
  }
  // The console probes the other services, so it reads their ports as they were read above.
  const config: Config = {
    ...services,
    web: readWeb(r, services.healthHost, {
      importer: services.importer.port,
      processor: services.processor.port,
      alerter: services.alerter.port,
    }),
  }
  if (config.alerter.webhookUrl !== undefined && !URL.canParse(config.alerter.webhookUrl)) {
    r.problems.push('ALERT_WEBHOOK_URL must be a URL')
  }
  if (r.problems.length > 0) throw new ConfigError(r.problems)
  return deepFreeze(config)
}
