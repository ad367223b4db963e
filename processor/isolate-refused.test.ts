import { describe, expect, it } from 'vitest'
import { DbError } from '../lib/errors.ts'
import { applyOrIsolate } from './isolate-refused.ts'

const refused = () => new DbError('DB_DATA', 'value out of range')

describe('applyOrIsolate', () => {
  it('splits a refused batch down to the message at fault and applies the rest in order', async () => {
    const applied: number[][] = []
    const refusedOnes: number[] = []
    const result = await applyOrIsolate<number>(
      {
        async apply(ms) {
          if (ms.includes(5)) throw refused()
          applied.push(ms)
          return { skipped: 0, verified: ms.includes(0) ? 1 : 0 }
        },
        async refuse(m) {
          refusedOnes.push(m)
          return { skipped: 0, verified: 0 }
        },
      },
      [0, 1, 2, 3, 4, 5, 6, 7],
    )
    expect(refusedOnes).toEqual([5])
    expect(applied.flat()).toEqual([0, 1, 2, 3, 4, 6, 7])
    expect(result).toEqual({ skipped: 0, verified: 1 })
  })

  it('passes any other error on, unsplit', async () => {
    const boom = new Error('connection lost')
    await expect(
      applyOrIsolate<number>(
        {
          apply: () => Promise.reject(boom),
          refuse: () => Promise.reject(new Error('not called')),
        },
        [1, 2],
      ),
    ).rejects.toBe(boom)
  })
})
