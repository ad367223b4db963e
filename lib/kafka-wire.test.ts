// kafkajs is patched (patches/kafkajs+2.2.4.patch) to spend less CPU per message: the record encoder and
// decoder, murmur2 and the grouping by partition. These checks pin what they write, read and choose to the
// Kafka protocol and the Java client, so a patch that changed the wire format or a message's partition
// fails here before it reaches a broker.
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'

const require = createRequire(import.meta.url)
type Encoder = {
  writeVarInt(v: number): Encoder
  writeUVarInt(v: number): Encoder
  writeVarLong(v: number | string): Encoder
  buffer: Buffer
}
const Encoder = require('kafkajs/src/protocol/encoder') as new (size?: number) => Encoder
const Decoder = require('kafkajs/src/protocol/decoder') as new (
  buf: Buffer,
) => { readVarInt(): number; readVarLong(): { toString(): string } }
const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (r: object) => Encoder
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (b: object) => Promise<Encoder>
}
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (d: unknown) => Promise<{
  records: { offset: string; timestamp: string; key: Buffer | null; value: Buffer | null; headers: object }[]
}>
const Long = require('kafkajs/src/utils/long') as { fromString(s: string): unknown }

const hex = (b: Buffer) => b.toString('hex')

describe('kafkajs varints (zigzag LEB128)', () => {
  it.each([
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [63, '7e'],
    [-64, '7f'],
    [64, '8001'],
    [-65, '8101'],
    [150, 'ac02'],
    [2 ** 31 - 1, 'feffffff0f'],
    [-(2 ** 31), 'ffffffff0f'],
  ])('varint %d is %s, and reads back', (value, bytes) => {
    const buf = new Encoder().writeVarInt(value).buffer
    expect(hex(buf)).toBe(bytes)
    expect(new Decoder(buf).readVarInt()).toBe(value)
  })

  it.each([
    ['0', '00'],
    ['-1', '01'],
    ['1700000000000', '80a0abfef962'],
    ['-1700000000000', 'ff9fabfef962'],
    // the longest that fits in 7 bytes, either sign, then the shortest that needs 8
    ['281474976710655', 'feffffffffff7f'],
    ['-281474976710656', 'ffffffffffff7f'],
    ['281474976710656', '8080808080808001'],
    ['-281474976710657', '8180808080808001'],
    ['562949953421312', '8080808080808002'],
    ['9223372036854775807', 'feffffffffffffffff01'],
    ['-9223372036854775808', 'ffffffffffffffffff01'],
  ])('varlong %s is %s, and reads back', (value, bytes) => {
    const buf = new Encoder().writeVarLong(value).buffer
    expect(hex(buf)).toBe(bytes)
    expect(new Decoder(buf).readVarLong().toString()).toBe(value)
  })

  it.each([0, -1, 1, 63, -64, 150, 2 ** 30 - 1, -(2 ** 30), 2 ** 30, -(2 ** 30) - 1, 2 ** 31, -(2 ** 53)])(
    'varlong of the number %d is the bytes of the same value through Long',
    (n) => {
      const asLong = new Encoder().writeVarLong(String(n)).buffer
      expect(hex(new Encoder().writeVarLong(n).buffer)).toBe(hex(asLong))
    },
  )

  it('refuses a fraction as a varlong, as unpatched', () => {
    expect(() => new Encoder().writeVarLong(1.5)).toThrow(RangeError)
  })

  it('writes several varints into one buffer past its first size', () => {
    const e = new Encoder(1)
    for (let i = 0; i < 100; i++) e.writeUVarInt(2 ** 28 + i)
    expect(e.buffer.length).toBe(500)
    expect(hex(e.buffer.subarray(0, 5))).toBe('8080808001')
  })
})

describe('kafkajs records', () => {
  it('writes a record byte for byte as the protocol says', () => {
    const bytes = Record({
      offsetDelta: 1,
      timestampDelta: 0,
      key: 'k',
      value: 'v',
      headers: { h: 'x' },
    }).buffer
    // length 12, attributes, timestamp delta 0, offset delta 1, key "k", value "v", one header h=x
    expect(hex(bytes)).toBe('18000002026b02760202680278')
  })

  it('writes header arrays in order and sizes multi-byte keys; a null header value throws, as unpatched', () => {
    const bytes = Record({
      timestampDelta: 5,
      key: null,
      value: null,
      headers: { é: ['1', '2'], z: 'x' },
    }).buffer
    // length 20, attributes, timestamp delta 5, offset delta 0, no key, no value, three headers (é=1, é=2, z=x)
    expect(hex(bytes)).toBe('28000a0001010604c3a9023104c3a90232027a0278')
    expect(() => Record({ key: null, value: null, headers: { a: null } })).toThrow(TypeError)
  })

  it('reads back what it writes: null and empty keys, repeated headers, big values, far offsets', async () => {
    const big = Buffer.alloc(70_000, 7)
    const records = [
      Record({ offsetDelta: 0, timestampDelta: 0, key: null, value: null }),
      Record({
        offsetDelta: 1,
        timestampDelta: 2,
        key: Buffer.alloc(0),
        value: big,
        headers: { a: ['1', '2'] },
      }),
      Record({ offsetDelta: 2, timestampDelta: -3, key: 'ü'.repeat(300), value: 'v', headers: { b: 'é' } }),
    ]
    for (const firstOffset of ['5', '9007199254740990']) {
      const batch = await RecordBatch({
        records,
        firstOffset: Long.fromString(firstOffset),
        firstTimestamp: 1_700_000_000_000,
        maxTimestamp: 1_700_000_000_002,
      })
      const { records: out } = await decodeBatch(new Decoder(batch.buffer))
      const base = BigInt(firstOffset)
      expect(out.map((r) => r.offset)).toEqual([0n, 1n, 2n].map((d) => String(base + d)))
      expect(out.map((r) => r.timestamp)).toEqual(['1700000000000', '1700000000002', '1699999999997'])
      expect(out[0]!.key).toBeNull()
      expect(out[0]!.value).toBeNull()
      expect(out[1]!.key).toEqual(Buffer.alloc(0))
      expect(out[1]!.value!.equals(big)).toBe(true)
      expect(out[1]!.headers).toEqual({ a: [Buffer.from('1'), Buffer.from('2')] })
      expect(out[2]!.key!.toString()).toBe('ü'.repeat(300))
      expect(out[2]!.headers).toEqual({ b: Buffer.from('é') })
    }
  })
})

const murmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (
  key: string | Buffer,
) => number
const groupMessagesPerPartition = require('kafkajs/src/producer/groupMessagesPerPartition') as (a: {
  topic: string
  partitionMetadata: { partitionId: number; leader: number }[]
  messages: { key?: string | null; partition?: number; value: string }[]
  partitioner: (a: { message: { key?: string | null; partition?: number } }) => number
}) => Record<string, { value: string }[]>
const { Partitioners } = require('kafkajs') as {
  Partitioners: { DefaultPartitioner: () => (a: object) => number }
}

describe('kafkajs record headers, decoded', () => {
  const decodeOne = async (headers: object) => {
    const batch = await RecordBatch({ records: [Record({ key: 'k', value: 'v', headers })] })
    return (await decodeBatch(new Decoder(batch.buffer))).records[0]!.headers as Record<string, unknown>
  }

  it('keeps a header named __proto__ as an own property, and the object an ordinary one', async () => {
    const headers = await decodeOne(JSON.parse('{"__proto__": "x", "b": "y"}'))
    expect(Object.keys(headers)).toEqual(['__proto__', 'b'])
    expect(Object.getPrototypeOf(headers)).toBe(Object.prototype)
    expect(Array.isArray(Object.getPrototypeOf(headers))).toBe(false)
  })

  it('refuses a record whose header count is negative, as unpatched kafkajs does', async () => {
    const good = (await RecordBatch({ records: [Record({ key: 'k', value: 'v', headers: { h: 'x' } })] }))
      .buffer
    // The last record's header count (varint 1 = 0x02) sits right before its key length 1, "h"
    const at = good.lastIndexOf(Buffer.from([0x02, 0x02, 0x68]))
    const bad = Buffer.from(good)
    bad[at] = 0x03 // zigzag -2
    await expect(decodeBatch(new Decoder(bad))).rejects.toThrow(RangeError)
  })
})

describe('kafkajs partitioning (also patched)', () => {
  it.each([
    ['', 275646681],
    ['a', -1563381124],
    ['21', -973932308],
    ['foobar', -790332482],
    ['1:1', -1337891590],
    ['50:100', -1381847969],
    ['ü€😀', -1727201672],
    ['stockflow', -21288696],
  ])('murmur2(%j) is the Java client’s %d', (key, hash) => {
    expect(murmur2(key)).toBe(hash)
    expect(murmur2(Buffer.from(key))).toBe(hash)
  })

  it('groups messages by partition, each partition in input order; explicit partitions win', () => {
    const partitionMetadata = [0, 1, 2].map((partitionId) => ({ partitionId, leader: 1 }))
    const messages: { key: string; partition?: number; value: string }[] = [
      ...Array.from({ length: 300 }, (_, i) => ({ key: `${i % 7}:1`, value: String(i) })),
      { key: '0:1', partition: 2, value: 'pinned' },
    ]
    const partitioner = Partitioners.DefaultPartitioner()
    const grouped = groupMessagesPerPartition({ topic: 't', partitionMetadata, messages, partitioner })
    const expected: Record<string, string[]> = {}
    for (const m of messages) {
      const p = m.partition ?? (murmur2(m.key) & 0x7fffffff) % 3
      expected[p] = [...(expected[p] ?? []), m.value]
    }
    expect(Object.fromEntries(Object.entries(grouped).map(([p, ms]) => [p, ms.map((m) => m.value)]))).toEqual(
      expected,
    )
  })

  it('spreads keyless messages over the partitions that have a leader', () => {
    const partitionMetadata = [
      { partitionId: 0, leader: 1 },
      { partitionId: 1, leader: -1 },
      { partitionId: 2, leader: 1 },
    ]
    const partitioner = Partitioners.DefaultPartitioner()
    const seen = new Set(
      Array.from({ length: 20 }, () =>
        partitioner({ topic: 't', partitionMetadata, message: { key: null } }),
      ),
    )
    expect([...seen].sort()).toEqual([0, 2])
  })
})
