// The decoder against a stand-in registry: which answers are a poison message (DecodeError) and which
// an outage (retriable), and that a known schema decodes without a promise. The real registry is
// exercised by the integration tests in test/.
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import { describe, expect, it } from 'vitest'
import { SCHEMAS, type StockMovement, TYPES } from '../schemas/contract.ts'
import { DecodeError, RegistryError } from './errors.ts'
import { createDecoder, registerSchema } from './registry.ts'

const movement: StockMovement = {
  transaction_id: '7e1b3fb4-0b4b-4a5c-9a9a-1c2d3e4f5a6b',
  event_type: 'sale',
  occurred_at: Date.parse('2019-04-14T03:47:13Z'),
  store_number: 5,
  item_number: 12,
  quantity: 3,
  to_store_number: null,
  reverses: null,
}

const framed = (schemaId: number, body: Buffer) => {
  const head = Buffer.alloc(5)
  head.writeInt32BE(schemaId, 1)
  return Buffer.concat([head, body])
}

/** A registry that knows the given schemas by id, or fails every lookup with `failure`. */
function registry(known: Record<number, unknown>, failure?: Error & { status?: number }) {
  const calls: number[] = []
  const stub = {
    async getSchema(id: number) {
      calls.push(id)
      if (failure) throw failure
      if (!(id in known)) throw Object.assign(new Error(`Schema ${id} not found`), { status: 404 })
      return { schema: () => known[id] }
    },
  }
  return { calls, registry: stub as unknown as SchemaRegistry }
}

const body = TYPES.StockMovement.toBuffer(movement)

describe('createDecoder', () => {
  it('fetches a schema id once; once it is known, decoding returns the value itself', async () => {
    const r = registry({ 7: SCHEMAS.StockMovement })
    const decoder = createDecoder<StockMovement>(r.registry, 'StockMovement')
    const first = decoder.decode(framed(7, body))
    expect(first).toBeInstanceOf(Promise)
    expect(await first).toEqual(movement)
    const second = decoder.decode(framed(7, body))
    expect(second).not.toBeInstanceOf(Promise)
    expect(second).toEqual(movement)
    expect(r.calls).toEqual([7])
  })

  it.each([
    ['a short message', Buffer.from([0, 0, 0])],
    ['no message', null],
    ['a bad magic byte', Buffer.concat([Buffer.from([1]), framed(7, body).subarray(1)])],
  ])('refuses %s as UNDECODABLE before asking the registry', (_, value) => {
    const r = registry({ 7: SCHEMAS.StockMovement })
    const decoder = createDecoder<StockMovement>(r.registry, 'StockMovement')
    expect(() => decoder.decode(value)).toThrow(DecodeError)
    expect(r.calls).toEqual([])
  })

  it('refuses a corrupt body as UNDECODABLE, whether the schema was cached or not', async () => {
    const decoder = createDecoder<StockMovement>(
      registry({ 7: SCHEMAS.StockMovement }).registry,
      'StockMovement',
    )
    const corrupt = framed(7, body.subarray(0, 10))
    await expect(decoder.decode(corrupt)).rejects.toMatchObject({ name: 'DecodeError', code: 'UNDECODABLE' })
    expect(() => decoder.decode(corrupt)).toThrow(/corrupt Avro body for schema 7/)
  })

  it('refuses an unknown schema id as UNDECODABLE once it stayed unknown for the grace time, and an unreachable registry as retriable', async () => {
    let now = 0
    const missing = createDecoder<StockMovement>(registry({}).registry, 'StockMovement', {
      unknownSchemaGraceMs: 1000,
      clock: () => now,
    })
    // A registry that is starting may not know its schemas yet: not found is waited for, for a while.
    await expect(missing.decode(framed(9, body))).rejects.toMatchObject({
      code: 'REGISTRY_ERROR',
      retriable: true,
    })
    now = 1000
    await expect(missing.decode(framed(9, body))).rejects.toMatchObject({
      code: 'UNDECODABLE',
      retriable: false,
    })
    const down = createDecoder<StockMovement>(
      registry({}, Object.assign(new Error('HTTP 503'), { status: 503 })).registry,
      'StockMovement',
    )
    const err = await Promise.resolve(down.decode(framed(9, body))).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RegistryError)
    expect(err).toMatchObject({ code: 'REGISTRY_ERROR', retriable: true })
  })

  it('takes a registry that refuses connections for an outage, not for a poison message (chaos seed 1807)', async () => {
    // The real client against a closed port: it reports the refused connection as HTTP 400.
    const down = createDecoder<StockMovement>(
      new SchemaRegistry({ host: 'http://127.0.0.1:9' }),
      'StockMovement',
    )
    const err = await Promise.resolve(down.decode(framed(9, body))).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'REGISTRY_ERROR', retriable: true })
  })

  it('refuses every message of a schema id once its grace ran out, and does not count an outage against it', async () => {
    let now = 0
    let down = true
    const stub = {
      async getSchema(id: number): Promise<unknown> {
        if (down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { status: 400 })
        throw Object.assign(new Error(`Schema ${id} not found`), { status: 404 })
      },
    }
    const decoder = createDecoder<StockMovement>(stub as unknown as SchemaRegistry, 'StockMovement', {
      unknownSchemaGraceMs: 1000,
      clock: () => now,
    })
    const attempt = () =>
      Promise.resolve(decoder.decode(framed(9, body))).catch((e: { code?: string }) => e.code)
    expect(await attempt()).toBe('REGISTRY_ERROR')
    now = 120_000 // down for two minutes, then the registry answers again
    down = false
    expect(await attempt()).toBe('REGISTRY_ERROR')
    now += 1000
    // A chunk of two messages of the id, retried whole: both end refused, the second without a new grace.
    expect([await attempt(), await attempt()]).toEqual(['UNDECODABLE', 'UNDECODABLE'])
  })

  it('waits for a registry that refuses its credentials instead of refusing every event', async () => {
    let now = 0
    const decoder = createDecoder<StockMovement>(
      registry({}, Object.assign(new Error('HTTP 401 Unauthorized'), { status: 401 })).registry,
      'StockMovement',
      { unknownSchemaGraceMs: 1000, clock: () => now },
    )
    expect(
      await Promise.resolve(decoder.decode(framed(9, body))).catch((e: { code?: string }) => e.code),
    ).toBe('REGISTRY_ERROR')
    now = 3_600_000
    expect(
      await Promise.resolve(decoder.decode(framed(9, body))).catch((e: { code?: string }) => e.code),
    ).toBe('REGISTRY_ERROR')
  })
})

describe('registerSchema', () => {
  it('asks again when another registrant created the subject at the same moment (409 already exists)', async () => {
    let calls = 0
    const stub = {
      async register() {
        calls++
        if (calls === 1)
          throw Object.assign(
            new Error("An artifact with ID 'x.errors-value' in group 'null' already exists."),
            {
              status: 409,
            },
          )
        return { id: 42 }
      },
    }
    const noCompat = {
      url: 'http://127.0.0.1:9',
      username: undefined,
      password: undefined,
      unknownSchemaGraceMs: 0,
    }
    const realFetch = globalThis.fetch
    globalThis.fetch = (async () => new Response('{}', { status: 200 })) as typeof fetch
    try {
      expect(await registerSchema(stub as never, noCompat, 'x.errors-value', SCHEMAS.StockError)).toBe(42)
    } finally {
      globalThis.fetch = realFetch
    }
    expect(calls).toBe(2)
  })

  it('fails at once, not retriable, on an incompatible schema', async () => {
    const stub = {
      async register() {
        throw Object.assign(new Error('Schema being registered is incompatible with an earlier schema'), {
          status: 409,
        })
      },
    }
    const realFetch = globalThis.fetch
    globalThis.fetch = (async () => new Response('{}', { status: 200 })) as typeof fetch
    try {
      await expect(
        registerSchema(
          stub as never,
          { url: 'http://127.0.0.1:9', username: undefined, password: undefined, unknownSchemaGraceMs: 0 },
          'x',
          SCHEMAS.StockError,
        ),
      ).rejects.toMatchObject({ code: 'REGISTRY_ERROR', retriable: false })
    } finally {
      globalThis.fetch = realFetch
    }
  })
})
