// `stockflow tail TOPIC`: prints a topic's messages, Avro-decoded through the registry, as JSON lines.
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { loadConfig } from '../lib/config.ts'
import { UsageError } from '../lib/errors.ts'
import { createKafka } from '../lib/kafka.ts'
import { createLogger } from '../lib/log.ts'
import { createDecoder, createRegistry, type Decoder } from '../lib/registry.ts'
import { SCHEMAS, type SchemaName } from '../schemas/contract.ts'

const USAGE = `usage: stockflow tail TOPIC [--from-beginning] [--follow] [--max N] [--key K] [--raw]

Prints a topic's messages as JSON lines, decoded through the schema registry. Without --follow it stops
at the end of the topic as it was when it started. Times are ISO-8601; --raw prints them as the epoch
milliseconds on the wire. "no messages" goes to stderr when nothing matched.`

export interface TailOptions {
  topic: string
  fromBeginning: boolean
  follow: boolean
  max: number
  key: string | undefined
  raw: boolean
}

/** The options, or undefined when help was asked for. */
export function parseTailArgs(argv: string[]): TailOptions | undefined {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'from-beginning': { type: 'boolean', default: false },
      follow: { type: 'boolean', short: 'f', default: false },
      max: { type: 'string' },
      key: { type: 'string' },
      raw: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) return undefined
  const max = values.max === undefined ? Number.POSITIVE_INFINITY : Number(values.max)
  if (positionals.length !== 1 || !(max > 0)) throw new UsageError('USAGE', USAGE)
  return {
    topic: positionals[0]!,
    fromBeginning: values['from-beginning'],
    follow: values.follow,
    max,
    key: values.key,
    raw: values.raw,
  }
}

/** What to say when TOPIC is not on the broker, with the topics that are (Kafka's own `__…` left out). */
export function missingTopicMessage(topic: string, existing: readonly string[]): string {
  const ours = existing.filter((t) => !t.startsWith('__')).sort()
  return `topic '${topic}' does not exist; the broker has ${ours.length === 0 ? 'no topics yet' : ours.join(', ')}`
}

/** ISO-8601 for epoch milliseconds that a Date can hold; anything else (nanoseconds, -1) stays as it was. */
function iso(ms: unknown): unknown {
  const n = typeof ms === 'string' && /^-?\d+$/.test(ms) ? Number(ms) : ms
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 && n <= 8.64e15
    ? new Date(n).toISOString()
    : ms
}

/** Epoch milliseconds as ISO-8601, in the decoded value too (timestamp-millis fields decode to numbers). */
function isoTimes(value: unknown, timeFields: ReadonlySet<string>): unknown {
  if (Array.isArray(value)) return value.map((v) => isoTimes(v, timeFields))
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      timeFields.has(k) && typeof v === 'number'
        ? iso(v)
        : timeFields.has(k) && Array.isArray(v)
          ? v.map(iso)
          : isoTimes(v, timeFields),
    ]),
  )
}

/** The contract's timestamp-millis fields, by name. */
const TIME_FIELDS: ReadonlySet<string> = new Set(
  Object.values(SCHEMAS).flatMap((schema) =>
    (schema.fields as { name: string; type: unknown }[])
      .filter((f) => JSON.stringify(f.type).includes('"timestamp-millis"'))
      .map((f) => f.name),
  ),
)

/** Prints messages to `out`; returns how many. Without --follow it stops at the end offsets seen at start. */
export async function runTail(
  argv: string[],
  env: NodeJS.ProcessEnv,
  out: (line: string) => void = console.log,
): Promise<number> {
  const opts = parseTailArgs(argv)
  if (!opts) {
    out(USAGE)
    return 0
  }
  const config = loadConfig(env)
  const log = createLogger({ name: 'tail', level: 'error', stderr: true })
  const kafka = createKafka(config.kafka, log, `${config.kafka.clientId}-tail`)
  const registry = createRegistry(config.registry)
  const schemaFor: Record<string, SchemaName> = {
    [config.topics.events]: 'StockMovement',
    [config.topics.errors]: 'StockError',
    [config.topics.lowStock]: 'LowStock',
  }
  const name = schemaFor[opts.topic]
  // Our topics decode into the contract's reader schema; any other topic with its writer's schema.
  const decoder: Decoder<unknown> = name
    ? createDecoder(registry, name)
    : { decode: (b) => registry.decode(b!) }

  const admin = kafka.admin()
  await admin.connect()
  let ends: Map<number, number>
  try {
    // Asked about a topic that does not exist, kafkajs retries for its whole budget and the consumer
    // then waits for ever (the broker creates no topic by itself): a typo must be told, not waited on.
    const topics = await admin.listTopics()
    if (!topics.includes(opts.topic)) throw new Error(missingTopicMessage(opts.topic, topics))
    ends = new Map((await admin.fetchTopicOffsets(opts.topic)).map((p) => [p.partition, Number(p.high)]))
  } finally {
    await admin.disconnect()
  }
  const position = new Map<number, number>()
  const done = () =>
    [...ends].every(([p, high]) =>
      opts.fromBeginning ? (position.get(p) ?? -1) >= high - 1 || high === 0 : true,
    )

  const consumer = kafka.consumer({
    groupId: `stockflow-tail-${randomBytes(6).toString('hex')}`,
    maxWaitTimeInMs: 200,
  })
  let printed = 0
  let finish: () => void = () => {}
  const finished = new Promise<void>((resolve) => {
    finish = resolve
  })
  await consumer.connect()
  await consumer.subscribe({ topic: opts.topic, fromBeginning: opts.fromBeginning })
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      position.set(partition, Number(message.offset))
      const key = message.key?.toString() ?? null
      if (printed < opts.max && (opts.key === undefined || key === opts.key)) {
        let value: unknown
        let error: string | undefined
        try {
          value = await decoder.decode(message.value)
        } catch (err) {
          error = (err as Error).message
        }
        const headers = Object.fromEntries(
          Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
        )
        out(
          JSON.stringify({
            topic: opts.topic,
            partition,
            offset: message.offset,
            timestamp: opts.raw ? message.timestamp : iso(message.timestamp),
            key,
            headers,
            value: opts.raw ? value : isoTimes(value, TIME_FIELDS),
            ...(error ? { error } : {}),
          }),
        )
        printed++
      }
      if (printed >= opts.max || (!opts.follow && done())) finish()
    },
  })
  if (!opts.follow && (done() || !opts.fromBeginning)) finish()
  const stop = () => finish()
  process.once('SIGINT', stop)
  await finished
  process.off('SIGINT', stop)
  await consumer.disconnect()
  if (printed === 0) {
    console.error(
      `no messages${opts.key === undefined ? '' : ` with key ${opts.key}`} on ${opts.topic}` +
        (opts.fromBeginning || opts.follow ? '' : ' (new ones only; --from-beginning reads the whole topic)'),
    )
  }
  return 0
}
