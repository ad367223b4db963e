// Kafka client factory (SASL/TLS from config, kafkajs logs routed to pino) and explicit topic creation.
import { readFileSync } from 'node:fs'
import {
  type Admin,
  type Consumer,
  Kafka,
  type KafkaConfig,
  logLevel,
  type Message,
  Partitioners,
  type Producer,
  type SASLOptions,
} from 'kafkajs'
import type { Config } from './config.ts'
import { causes, deniedAccess, KafkaError } from './errors.ts'
import type { Logger } from './log.ts'
import { retry } from './retry.ts'

export interface TopicSpec {
  topic: string
  partitions: number
  configs?: Record<string, string>
}

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
}

export interface KafkaHooks {
  /**
   * A broker answered that a topic-partition does not exist (it was deleted, maybe recreated). kafkajs
   * recovers by itself, without a rebalance; a consumer that keeps its own offsets must re-check them.
   */
  onPartitionMissing?: () => void
}

const PARTITION_MISSING = /does not host this topic-partition/

/**
 * Broker answers that kafkajs logs at error level but retries by itself, and that are normal while a
 * broker, a new topic or a consumer group is starting: logged at debug. Should one last, the retries run
 * out and the caller sees an error of its own. "Topic creation errors" is the connection's log of a
 * CreateTopics answer; ensureTopics takes "already exists" (another service was first) as success and
 * reports any other failure itself.
 */
const TRANSIENT =
  /coordinator is loading|coordinator is not available|not the correct coordinator|There is no leader for this topic-partition|leadership election|does not host this topic-partition|group is rebalancing|Not enough in-sync replicas|topic or partition that does not exist|Topic creation errors/i

/** The level a kafkajs log entry deserves. */
export function kafkaLogLevel(level: number, text: string): 'error' | 'warn' | 'info' | 'debug' {
  const mapped = LEVELS[level] ?? 'info'
  // A crash, or a failed batch handler, is reported whatever its cause: it may be an outage that lasts.
  if (/Crash|eachBatch|eachMessage|NumberOfRetriesExceeded/.test(text)) return mapped
  return (mapped === 'error' || mapped === 'warn') && TRANSIENT.test(text) ? 'debug' : mapped
}

export function kafkaClientConfig(
  cfg: Config['kafka'],
  log: Logger,
  clientId?: string,
  hooks: KafkaHooks = {},
): KafkaConfig {
  const sasl = cfg.sasl
    ? ({
        mechanism: cfg.sasl.mechanism,
        username: cfg.sasl.username,
        password: cfg.sasl.password,
      } as SASLOptions)
    : undefined
  // TLS verifies the broker certificate; there is deliberately no switch to turn that off.
  const ssl = cfg.ssl ? (cfg.sslCaFile ? { ca: [readFileSync(cfg.sslCaFile, 'utf8')] } : true) : undefined
  return {
    clientId: clientId ?? cfg.clientId,
    brokers: cfg.brokers,
    ssl,
    sasl,
    connectionTimeout: 5000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 300, retries: 10, maxRetryTime: 10_000 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => {
      const { message, ...rest } = entry.log
      const level = kafkaLogLevel(entry.level, `${message} ${rest.error ?? ''}`)
      // kafkajs reports this only as a log line: no event or error reaches the caller.
      if (hooks.onPartitionMissing && PARTITION_MISSING.test(String(rest.error ?? '')))
        hooks.onPartitionMissing()
      log[level]({ kafka: { ...rest, namespace: entry.namespace } }, message)
    },
  }
}

export function createKafka(cfg: Config['kafka'], log: Logger, clientId?: string, hooks?: KafkaHooks): Kafka {
  return new Kafka(kafkaClientConfig(cfg, log, clientId, hooks))
}

/**
 * Creates missing topics with the given partitions and configs; existing topics are left as they are.
 * A broker still electing leaders for a topic just created answers UNKNOWN_TOPIC_OR_PARTITION while we
 * wait: that and other retriable answers are tried again a few times before they count as a failure.
 */
export async function ensureTopics(admin: Admin, specs: TopicSpec[]): Promise<string[]> {
  try {
    return await retry(() => createMissing(admin, specs), {
      attempts: 8,
      baseMs: 250,
      maxMs: 4000,
      shouldRetry: (err) => (err as { retriable?: boolean }).retriable === true,
    })
  } catch (err) {
    // Missing rights stay missing: only an outage is worth waiting for.
    throw new KafkaError('KAFKA_ERROR', `creating topics failed: ${(err as Error).message}`, {
      retriable: !deniedAccess(err),
      cause: err,
    })
  }
}

async function createMissing(admin: Admin, specs: TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics())
  const missing = specs.filter((s) => !existing.has(s.topic))
  if (missing.length === 0) return []
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions,
        replicationFactor: -1,
        configEntries: Object.entries(s.configs ?? {}).map(([name, value]) => ({ name, value })),
      })),
    })
  } catch (err) {
    // Two services starting together may race to create the same topic; that outcome is fine.
    if ((err as { type?: string }).type === 'TOPIC_ALREADY_EXISTS') return []
    throw err
  }
  return missing.map((s) => s.topic)
}

/** The topics every stockflow deployment has, from config. */
export function pipelineTopics(topics: Config['topics']): TopicSpec[] {
  return [
    { topic: topics.events, partitions: topics.eventsPartitions },
    { topic: topics.errors, partitions: topics.errorsPartitions },
    { topic: topics.lowStock, partitions: topics.lowStockPartitions },
  ]
}

/** Sum of (high watermark - committed offset) per partition, for lag metrics and quiescence checks. */
export async function groupLag(
  admin: Admin,
  groupId: string,
  topic: string,
): Promise<{ partition: number; committed: number; high: number; lag: number }[]> {
  const [offsets, committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId, topics: [topic] }),
  ])
  const byPartition = new Map(committed[0]?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? [])
  return offsets.map((o) => {
    const high = Number(o.high)
    const c = byPartition.get(o.partition) ?? -1
    const base = c < 0 ? Number(o.low) : c
    return { partition: o.partition, committed: c, high, lag: Math.max(0, high - base) }
  })
}

/** A producer that can be replaced by a new one, with a new producer id, behind the same object. */
export interface RenewableProducer extends Producer {
  /**
   * After a request the broker refused for good, kafkajs rolls back the sequence numbers of every partition
   * in it, also of those the broker had written: the next batch to such a partition would be taken for a
   * duplicate and dropped, or refused as out of order. Only a new producer id starts clean.
   */
  renew(): Promise<void>
}

export function renewableProducer(make: () => Producer): RenewableProducer {
  let current = make()
  // A new producer whose connect() failed (the broker away at that moment) is connected again before the
  // next send: kafkajs never connects a producer by itself, so it would fail every send for ever.
  let owed = false
  const connected = async () => {
    if (!owed) return
    await current.connect()
    owed = false
  }
  const renew = async () => {
    const old = current
    current = make()
    owed = true
    await old.disconnect().catch(() => {})
    await connected()
  }
  return new Proxy({} as RenewableProducer, {
    get(_target, prop) {
      if (prop === 'renew') return renew
      if (prop === 'send' || prop === 'sendBatch') {
        return async (...args: unknown[]) => {
          await connected()
          return (current[prop] as (...a: unknown[]) => Promise<unknown>)(...args)
        }
      }
      const v = Reflect.get(current, prop)
      return typeof v === 'function' ? v.bind(current) : v
    },
  })
}

/**
 * The producer every stockflow writer uses: idempotent, one request in flight (see importer/publisher.ts),
 * murmur2 partitioning like the Java client. Services retry without limit, so a broker restart only
 * delays a send; command-line tools pass a bound so they fail instead of hanging.
 */
export function createIdempotentProducer(kafka: Kafka, opts: { retries?: number } = {}): RenewableProducer {
  return renewableProducer(() =>
    kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: {
        retries: opts.retries ?? Number.MAX_SAFE_INTEGER,
        initialRetryTime: 300,
        maxRetryTime: 10_000,
      },
    }),
  )
}

/** Broker answers that no retry can change: the request or one of its records is too large or invalid. */
const REFUSALS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE'])

/**
 * The broker's reason when it refused a produce request for good, found anywhere in the cause chain
 * (kafkajs wraps the protocol error in KafkaJSNonRetriableError); undefined for anything else.
 */
export function refusedByBroker(err: unknown): string | undefined {
  for (const e of causes(err)) if (typeof e.type === 'string' && REFUSALS.has(e.type)) return e.type
  return undefined
}

/** An error that started at the broker or the client (KafkaJS*), at the bottom of its cause chain. */
export function brokerError(err: unknown): boolean {
  let e = err as { name?: string; cause?: unknown } | undefined
  while (e?.cause) e = e.cause as typeof e
  return typeof e?.name === 'string' && e.name.startsWith('KafkaJS')
}

export interface ConsumerKeeper {
  /** Subscribes and runs the consumer, waiting out a broker that is away (restarting) meanwhile. */
  start(): Promise<void>
  /** Ends a start or restart in progress; resolves once it has stopped. */
  stop(): Promise<void>
}

/**
 * kafkajs gives up on a consumer for good on some broker errors (no group coordinator while a broker
 * restarts). Those are outages, not bugs: the consumer is started again, with backoff, for as long as it
 * takes. Anything else that crashes it is a bug: `onFatal`, and the service exits for its supervisor.
 */
export function keepConsumerRunning(
  consumer: Consumer,
  o: { run: () => Promise<void>; log: Logger; onFatal: (err: unknown) => void },
): ConsumerKeeper {
  const abort = new AbortController()
  let restarting: Promise<void> | undefined
  consumer.on(consumer.events.CRASH, (e) => {
    if (e.payload.restart || abort.signal.aborted) return
    if (!brokerError(e.payload.error)) return o.onFatal(e.payload.error)
    o.log.warn({ err: e.payload.error }, 'consumer stopped on a broker error; starting it again')
    restarting = retry(
      async () => {
        await consumer.connect()
        await o.run()
      },
      {
        attempts: Number.POSITIVE_INFINITY,
        baseMs: 1000,
        maxMs: 10_000,
        signal: abort.signal,
        shouldRetry: brokerError,
        onRetry: (err, attempt) => o.log.warn({ err, attempt }, 'consumer restart failed; retrying'),
      },
    ).catch((err) => {
      if (!abort.signal.aborted) o.onFatal(err)
    })
  })
  return {
    start: () =>
      retry(o.run, {
        attempts: Number.POSITIVE_INFINITY,
        baseMs: 1000,
        maxMs: 10_000,
        signal: abort.signal,
        shouldRetry: brokerError,
        onRetry: (err, attempt) =>
          o.log.warn({ err, attempt }, 'consumer start failed on a broker error; retrying'),
      }),
    async stop() {
      abort.abort()
      await restarting
    },
  }
}

/** What a message adds to a request, near enough: its key, value and headers plus the record's framing. */
export function messageBytes(message: Message): number {
  let n = 64 + size(message.key) + size(message.value)
  for (const [k, v] of Object.entries(message.headers ?? {})) n += k.length + 8 + size(v as Buffer | string)
  return n
}

function size(v: Buffer | string | null | undefined): number {
  if (v == null) return 0
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length
}
