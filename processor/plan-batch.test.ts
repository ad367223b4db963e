import { describe, expect, it } from 'vitest'
import { isRefusedInput } from '../lib/errors.ts'
import type { Received, StoredMovement } from './ledger-model.ts'
import {
  classify,
  conflictError,
  conflictSha,
  fileDigest,
  type Intake,
  idsToClaim,
  MAX_RAW_BYTES,
  printable,
  triage,
} from './plan-batch.ts'

const ctx = { topic: 'events', partition: 2, now: 1000, topics: { errors: 'errors', lowStock: 'low-stock' } }
const ID = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`

function rec(offset: number, id: number, quantity = 5, redrive = false): Received {
  return {
    movement: {
      transaction_id: ID(id),
      event_type: 'sale',
      occurred_at: 1,
      store_number: 1,
      item_number: 1,
      quantity,
    },
    sourceFile: 'f.csv',
    sourceLine: offset + 2,
    topic: 'events',
    partition: 2,
    offset,
    redrive,
  }
}
const movement = (offset: number, id: number, quantity = 5): Intake => ({
  kind: 'movement',
  offset,
  received: rec(offset, id, quantity),
})

describe('triage', () => {
  it('skips what is below the stored offset, accepts a gap after it, and rejects non-movements with their position', () => {
    const t = triage(
      [
        movement(3, 1),
        movement(4, 2),
        // offset 5 is a transaction marker: the batch simply has no message there
        {
          kind: 'rejected',
          offset: 6,
          key: 'k',
          value: Buffer.from([1, 2]),
          code: 'INVALID_MOVEMENT',
          reason: 'bad\u0000id',
        },
        movement(7, 3),
      ],
      4,
      ctx,
    )
    expect(t.skipped).toBe(1)
    expect(t.candidates.map((r) => r.offset)).toEqual([4, 7])
    expect(t.rejected).toEqual([
      {
        topic: 'events',
        partition: 2,
        offset: 6,
        code: 'INVALID_MOVEMENT',
        reason: 'bad\\u0000id',
        errorId: expect.any(String),
      },
    ])
    expect(t.outbox[0]?.payload).toMatchObject({
      code: 'INVALID_MOVEMENT',
      stage: 'process',
      topic: 'events',
      partition: 2,
      offset: '6',
      raw_value_base64: 'AQI=',
      message: 'bad\\u0000id',
    })
  })

  it('keeps only the first bytes of a huge rejected value, with its size and hash', () => {
    const value = Buffer.alloc(MAX_RAW_BYTES * 50, 7)
    const t = triage(
      [{ kind: 'rejected', offset: 1, key: null, value, code: 'UNDECODABLE', reason: 'x' }],
      0,
      ctx,
    )
    const p = t.outbox[0]!.payload as { raw_value_base64: string; message: string }
    expect(Buffer.from(p.raw_value_base64, 'base64').length).toBe(MAX_RAW_BYTES)
    expect(p.message).toMatch(new RegExp(`^x \\(value of ${value.length} bytes, sha256 [0-9a-f]{64}`))
  })

  it('gives a rejected message the same error id on redelivery', () => {
    const m: Intake = {
      kind: 'rejected',
      offset: 9,
      key: null,
      value: null,
      code: 'UNDECODABLE',
      reason: 'x',
    }
    expect(triage([m], undefined, ctx).rejected[0]?.errorId).toBe(triage([m], 0, ctx).rejected[0]?.errorId)
  })
})

describe('classify', () => {
  const stored = (id: number, where: StoredMovement['where'], quantity = 5): [string, StoredMovement] => [
    ID(id),
    { movement: rec(0, id, quantity).movement, where },
  ]

  it('claims each id once, in the order first seen (the claim statement sorts them)', () => {
    expect(idsToClaim([rec(1, 3), rec(2, 1), rec(3, 3)])).toEqual([ID(3), ID(1)])
  })

  it('fresh when claimed now; duplicate or conflict against the ledger otherwise; never overwrites a parked sale', () => {
    const c = classify(
      [rec(1, 1), rec(2, 2), rec(3, 3, 99), rec(4, 4, 7)],
      new Set([ID(1)]),
      new Map([stored(2, 'journal'), stored(3, 'parked'), stored(4, 'failed')]),
    )
    expect(c.fresh.map((r) => r.offset)).toEqual([1])
    expect(c.duplicates).toBe(1)
    expect(c.conflicts.map((x) => [x.received.offset, x.first.quantity])).toEqual([
      [3, 5],
      [4, 5],
    ])
    expect(c.unfailed).toEqual([])
  })

  it('the first occurrence within a batch stands, like across batches', () => {
    const c = classify([rec(1, 1), rec(2, 1), rec(3, 1, 8)], new Set([ID(1)]), new Map())
    expect([c.fresh.map((r) => r.offset), c.duplicates, c.conflicts.map((x) => x.received.offset)]).toEqual([
      [1],
      1,
      [3],
    ])
  })

  it('a re-drive of a failed movement with the same payload is fresh again', () => {
    const c = classify([rec(1, 4, 5, true)], new Set(), new Map([stored(4, 'failed')]))
    expect([c.fresh.length, c.unfailed]).toEqual([1, [ID(4)]])
    const changed = classify([rec(1, 4, 6, true)], new Set(), new Map([stored(4, 'failed')]))
    expect([changed.fresh.length, changed.conflicts.length]).toEqual([0, 1])
  })

  it('a withdrawn movement is never brought back, not even by a re-drive: its reversal already stands', () => {
    const c = classify([rec(1, 4, 5, true)], new Set(), new Map([stored(4, 'withdrawn')]))
    expect([c.fresh.length, c.unfailed, c.duplicates]).toEqual([0, [], 1])
  })

  it('a claim with no recorded movement is refused like bad data (the ledger was edited), not retried forever', () => {
    let thrown: unknown
    try {
      classify([rec(1, 5)], new Set(), new Map())
    } catch (err) {
      thrown = err
    }
    expect(isRefusedInput(thrown)).toBe(true)
    expect(thrown).toMatchObject({ retriable: false, code: 'DB_CONSTRAINT' })
  })

  it('reports a conflict with both payloads and a stable id', () => {
    const c = { received: rec(3, 3, 99), first: rec(0, 3, 5).movement }
    const e = conflictError(c, conflictSha(c.received.movement), ctx)
    expect(e.payload).toMatchObject({
      code: 'TRANSACTION_CONFLICT',
      source_file: 'f.csv',
      source_line: 5,
      offset: '3',
    })
    expect((e.payload as { message: string }).message).toContain(
      'sale of 5 at 1:1; this one: sale of 99 at 1:1',
    )
    expect(conflictError(c, conflictSha(c.received.movement), ctx).payload).toEqual(e.payload)
  })

  it('makes control characters printable', () => {
    expect(printable('a\u0000b\nc')).toBe('a\\u0000b\\u000ac')
  })

  it('keeps the first 64 bits of a file sha256 as Postgres reads them, signed, and nothing of a header that is not one', () => {
    const sha = (head: string) => head + '0'.repeat(64 - head.length)
    expect(fileDigest(sha('0000000000000001'))).toBe('1')
    expect(fileDigest(sha('ffffffffffffffff'))).toBe('-1')
    expect(fileDigest(sha('8000000000000000'))).toBe('-9223372036854775808')
    expect(fileDigest(sha('7FFFFFFFFFFFFFFF'))).toBe('9223372036854775807')
    expect(fileDigest('abc')).toBeNull()
    expect(fileDigest(null)).toBeNull()
  })
})
