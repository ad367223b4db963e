// The publisher against a producer that acknowledges when the test says so: batching, back-pressure and
// failure, with nothing in flight twice. The real broker is exercised by the importer tests in test/.
import type { Producer, ProducerBatch } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { createPublisher } from './publisher.ts'

function producer() {
  const sent: { topic: string; values: string[] }[][] = []
  const pending: { resolve: () => void; reject: (err: Error) => void }[] = []
  let inFlight = 0
  let maxInFlight = 0
  const stub = {
    sendBatch(batch: ProducerBatch) {
      sent.push(
        (batch.topicMessages ?? []).map((t) => ({
          topic: t.topic,
          values: t.messages.map((m) => String(m.value)),
        })),
      )
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      return new Promise<void>((resolve, reject) => {
        pending.push({
          resolve: () => {
            inFlight--
            resolve()
          },
          reject: (err) => {
            inFlight--
            reject(err)
          },
        })
      })
    },
  }
  return {
    sent,
    pending,
    maxInFlight: () => maxInFlight,
    producer: stub as unknown as Producer,
  }
}

const msg = (v: string) => ({ key: null, value: v })
const settle = () => new Promise((r) => setImmediate(r))

describe('createPublisher', () => {
  it('returns nothing while there is room, sends full batches one request at a time, by topic', async () => {
    const p = producer()
    const pub = createPublisher({
      producer: p.producer,
      batchRows: 2,
      batchBytes: 1 << 20,
      lingerMs: 60_000,
      maxQueuedBatches: 3,
    })
    expect(pub.add('events', msg('a'))).toBeUndefined()
    expect(pub.add('errors', msg('b'))).toBeUndefined()
    expect(pub.add('events', msg('c'))).toBeUndefined()
    expect(pub.add('events', msg('d'))).toBeUndefined()
    await settle()
    expect(p.sent).toEqual([
      [
        { topic: 'events', values: ['a'] },
        { topic: 'errors', values: ['b'] },
      ],
    ])
    p.pending.shift()!.resolve()
    await settle()
    expect(p.sent[1]).toEqual([{ topic: 'events', values: ['c', 'd'] }])
    p.pending.shift()!.resolve()
    await pub.flush()
    expect(p.maxInFlight()).toBe(1)
  })

  it('hands back a promise once the queue is full, resolved when a batch leaves it', async () => {
    const p = producer()
    const pub = createPublisher({
      producer: p.producer,
      batchRows: 2,
      batchBytes: 1 << 20,
      lingerMs: 60_000,
      maxQueuedBatches: 2,
    })
    for (const v of ['a', 'b', 'c', 'd', 'e']) expect(pub.add('events', msg(v))).toBeUndefined()
    // a and b are in flight; c to f fill the queue to its four messages.
    const full = pub.add('events', msg('f'))
    expect(full).toBeInstanceOf(Promise)
    let resumed = false
    void full!.then(() => {
      resumed = true
    })
    await settle()
    expect(resumed).toBe(false)
    p.pending.shift()!.resolve()
    await settle()
    expect(resumed).toBe(true)
    p.pending.shift()!.resolve()
    await settle()
    p.pending.shift()!.resolve()
    await pub.flush()
    expect(p.sent.map((s) => s[0]!.values)).toEqual([
      ['a', 'b'],
      ['c', 'd'],
      ['e', 'f'],
    ])
  })

  it('sends a partial batch after the linger time, and flush waits for its acknowledgement', async () => {
    const p = producer()
    const pub = createPublisher({
      producer: p.producer,
      batchRows: 100,
      batchBytes: 1 << 20,
      lingerMs: 5,
      maxQueuedBatches: 2,
    })
    pub.add('events', msg('a'))
    for (let i = 0; i < 200 && p.sent.length === 0; i++) await new Promise((r) => setTimeout(r, 5))
    expect(p.sent).toEqual([[{ topic: 'events', values: ['a'] }]])
    let flushed = false
    const flush = pub.flush().then(() => {
      flushed = true
    })
    await settle()
    expect(flushed).toBe(false)
    p.pending.shift()!.resolve()
    await flush
    expect(flushed).toBe(true)
  })

  it('after a failed send, add throws, a waiting add rejects and flush rejects, all with that error', async () => {
    const p = producer()
    const pub = createPublisher({
      producer: p.producer,
      batchRows: 1,
      batchBytes: 1 << 20,
      lingerMs: 60_000,
      maxQueuedBatches: 1,
    })
    pub.add('events', msg('a'))
    await settle()
    const waiting = pub.add('events', msg('b'))
    expect(waiting).toBeInstanceOf(Promise)
    const boom = new Error('broker said no')
    p.pending.shift()!.reject(boom)
    await expect(waiting).rejects.toBe(boom)
    expect(() => pub.add('events', msg('c'))).toThrow(boom)
    await expect(pub.flush()).rejects.toBe(boom)
  })
})
