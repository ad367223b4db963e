// Schema registry client, contract registration and the Confluent wire format.
// Encoding uses our own cached avsc types; decoding resolves the writer's schema (by id, cached)
// against our reader schema, so older and newer writers both decode.
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import avro from 'avsc'
import { type AvroSchemaJson, SCHEMAS, type SchemaName, TYPES, valueSubject } from '../schemas/contract.ts'
import type { Config } from './config.ts'
import { DecodeError, RegistryError } from './errors.ts'

export { valueSubject }

const MAGIC = 0

export function createRegistry(cfg: Config['registry']): SchemaRegistry {
  const auth = cfg.username ? { username: cfg.username, password: cfg.password ?? '' } : undefined
  return new SchemaRegistry({ host: cfg.url, auth, retry: { retries: 3 } })
}

function authHeaders(cfg: Config['registry']): Record<string, string> {
  return cfg.username
    ? { authorization: `Basic ${Buffer.from(`${cfg.username}:${cfg.password ?? ''}`).toString('base64')}` }
    : {}
}

async function setCompatibility(cfg: Config['registry'], subject: string, level: string): Promise<void> {
  const headers = { ...authHeaders(cfg), 'content-type': 'application/vnd.schemaregistry.v1+json' }
  const res = await fetch(`${cfg.url.replace(/\/$/, '')}/config/${encodeURIComponent(subject)}`, {
    method: 'PUT',
    headers,
    body: JSON.stringify({ compatibility: level }),
  })
  if (!res.ok) {
    throw new RegistryError('REGISTRY_ERROR', `Setting ${level} on ${subject} failed: HTTP ${res.status}`, {
      retriable: res.status >= 500,
      context: { subject },
    })
  }
}

/**
 * Registers one contract schema under a subject with BACKWARD compatibility and returns its id.
 * Re-registering an identical schema is a no-op that returns the same id.
 */
export async function registerSchema(
  registry: SchemaRegistry,
  cfg: Config['registry'],
  subject: string,
  schema: AvroSchemaJson,
): Promise<number> {
  const register = () =>
    registry.register(
      { type: 'AVRO' as never, schema: JSON.stringify(schema) },
      { subject, compatibility: 'BACKWARD' as never },
    )
  try {
    await setCompatibility(cfg, subject, 'BACKWARD')
    try {
      return (await register()).id
    } catch (err) {
      // Two services registering a new subject at once: Apicurio answers the second with 409 "already
      // exists" instead of the id. Asked again, it finds the schema and gives the id.
      if (!/already exists/i.test(String((err as Error).message))) throw err
      return (await register()).id
    }
  } catch (err) {
    if (err instanceof RegistryError) throw err
    const status = (err as { status?: number }).status
    const message = String((err as Error).message)
    // An incompatible schema (409) or one the registry refuses (422) stays so: start-up must fail loudly.
    const outage = NO_ANSWER.test(message) || status === undefined || status >= 500 || status === 429
    throw new RegistryError('REGISTRY_ERROR', `Registering ${subject} failed: ${message}`, {
      retriable: outage,
      cause: err,
      context: { subject, status },
    })
  }
}

export interface Encoder<T> {
  readonly schemaId: number
  encode(value: T): Buffer
}

export async function createEncoder<T>(
  registry: SchemaRegistry,
  cfg: Config['registry'],
  topic: string,
  name: SchemaName,
): Promise<Encoder<T>> {
  const schemaId = await registerSchema(registry, cfg, valueSubject(topic), SCHEMAS[name])
  const type = TYPES[name]
  // Encode into a scratch buffer after the 5-byte header, then copy once: one allocation per message.
  let scratch = Buffer.alloc(64 * 1024)
  scratch.writeUInt8(MAGIC, 0)
  scratch.writeInt32BE(schemaId, 1)
  return {
    schemaId,
    encode(value) {
      let end = type.encode(value, scratch, 5)
      if (end < 0) {
        const grown = Buffer.alloc(Math.max(scratch.length * 2, scratch.length - end))
        scratch.copy(grown, 0, 0, 5)
        scratch = grown
        end = type.encode(value, scratch, 5)
      }
      return Buffer.from(scratch.subarray(0, end))
    },
  }
}

export interface Decoder<T> {
  /**
   * The value, returned synchronously once the writer's schema is cached (every message after the first of
   * its schema id), so a batch decodes without a promise and a suspended caller per message; a Promise
   * only while the schema is fetched. Either way a failure is a DecodeError or, for an outage, a
   * retriable RegistryError.
   */
  decode(buf: Buffer | null): T | Promise<T>
}

type Resolver = avro.Type | ReturnType<avro.Type['createResolver']>

export interface DecoderOptions {
  /**
   * How long a schema id the registry does not know, or cannot be asked about, is waited for before its
   * messages are refused as UNDECODABLE. A registry that is down or starting answers like one that never
   * had the schema (the client even reports a refused connection as HTTP 400), and a valid event taken for
   * a poison message is an event lost.
   */
  unknownSchemaGraceMs?: number
  clock?: () => number
  /** The schema values are read into; the contract's own by default. An older one reads as an older reader would. */
  reader?: avro.Type
}

/** The client's report of a request that got no answer from the registry at all. */
const NO_ANSWER = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|EHOSTUNREACH|socket hang up|timeout/i

/** Decodes Confluent-framed Avro into the reader schema `name`; failures are DecodeError, never retriable. */
export function createDecoder<T>(
  registry: SchemaRegistry,
  name: SchemaName,
  opts: DecoderOptions = {},
): Decoder<T> {
  const reader = opts.reader ?? TYPES[name]
  const resolvers = new Map<number, Resolver>()
  const graceMs = opts.unknownSchemaGraceMs ?? 60_000
  const clock = opts.clock ?? Date.now
  /** Per schema id, when the registry first answered that it could not give it (cleared once it does). */
  const failingSince = new Map<number, number>()
  /** Ids refused after their grace: their later messages are refused at once, not after another grace. */
  const refused = new Set<number>()

  async function fetchResolver(id: number): Promise<Resolver> {
    let writerJson: unknown
    try {
      const writer = (await registry.getSchema(id)) as unknown as { schema?: () => unknown }
      writerJson = typeof writer.schema === 'function' ? writer.schema() : writer
      failingSince.delete(id)
      refused.delete(id)
    } catch (err) {
      const status = (err as { status?: number }).status
      const message = String((err as Error).message)
      // An unreachable or failing registry (no answer, 5xx, 429) is an outage, waited for as long as it lasts.
      // Any other answer (404, a schema this library cannot load) is waited for the grace time only: a
      // registry that is starting may not know its schemas yet.
      // Refused credentials (401, 403) are waited for as well: a partition that waits for its operator loses
      // nothing, one that refuses every event as UNDECODABLE loses them all.
      const outage =
        NO_ANSWER.test(message) ||
        (status === undefined
          ? (err as Error).name !== 'ConfluentSchemaRegistryArgumentError'
          : status >= 500 || status === 429 || status === 401 || status === 403)
      // The grace starts with the registry's first answer: time it spent down does not count against it.
      if (!outage) {
        const since = failingSince.get(id) ?? clock()
        failingSince.set(id, since)
        if (refused.has(id) || clock() - since >= graceMs) {
          refused.add(id)
          throw new DecodeError('UNDECODABLE', `schema id ${id} cannot be used: ${message}`, {
            cause: err,
            context: { schemaId: id },
          })
        }
      }
      throw new RegistryError('REGISTRY_ERROR', `fetching schema ${id} failed: ${message}`, {
        retriable: true,
        cause: err,
        context: { schemaId: id },
      })
    }
    let resolver: Resolver
    try {
      const writer = avro.Type.forSchema(writerJson as avro.Schema)
      resolver = writer.equals(reader) ? reader : reader.createResolver(writer)
    } catch (err) {
      throw new DecodeError(
        'UNDECODABLE',
        `schema ${id} cannot be read as ${name}: ${(err as Error).message}`,
        {
          cause: err,
          context: { schemaId: id },
        },
      )
    }
    resolvers.set(id, resolver)
    return resolver
  }

  function read(resolver: Resolver, id: number, buf: Buffer): T {
    try {
      const body = buf.subarray(5)
      return (resolver === reader ? reader.fromBuffer(body) : reader.fromBuffer(body, resolver as never)) as T
    } catch (err) {
      throw new DecodeError('UNDECODABLE', `corrupt Avro body for schema ${id}: ${(err as Error).message}`, {
        cause: err,
        context: { schemaId: id },
      })
    }
  }

  return {
    decode(buf) {
      if (!buf || buf.length < 5)
        throw new DecodeError('UNDECODABLE', 'message is shorter than the 5-byte header')
      if (buf.readUInt8(0) !== MAGIC)
        throw new DecodeError('UNDECODABLE', `bad magic byte ${buf.readUInt8(0)}`)
      const id = buf.readInt32BE(1)
      const resolver = resolvers.get(id)
      return resolver ? read(resolver, id, buf) : fetchResolver(id).then((r) => read(r, id, buf))
    },
  }
}

/** For readiness checks: the registry answers its subject list. */
export async function pingRegistry(cfg: Config['registry']): Promise<void> {
  const res = await fetch(`${cfg.url.replace(/\/$/, '')}/subjects`, {
    headers: authHeaders(cfg),
    signal: AbortSignal.timeout(2000),
  })
  if (!res.ok)
    throw new RegistryError('REGISTRY_ERROR', `registry answered HTTP ${res.status}`, { retriable: true })
}
