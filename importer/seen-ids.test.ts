import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { SeenIds } from './seen-ids.ts'

describe('SeenIds', () => {
  it('reports repeats exactly, across growth and the spill file', () => {
    const seen = new SeenIds(16)
    try {
      const ids = Array.from({ length: 20_000 }, () => randomUUID())
      expect(ids.every((id) => seen.add(id))).toBe(true)
      expect(seen.size).toBe(20_000)
      expect(ids.filter((_, i) => i % 1000 === 0).map((id) => seen.add(id))).toEqual(Array(20).fill(false))
      expect(seen.add(ids[7]!.toUpperCase())).toBe(false)
      expect(seen.size).toBe(20_000)
    } finally {
      seen.close()
    }
  })

  it('never takes two ids that share bits for one: structured ids are all distinct', () => {
    const seen = new SeenIds(100_000)
    try {
      // The pair, which the old 64-bit fold took for one id.
      expect(seen.add('00000001-0000-0000-0000-000000000000')).toBe(true)
      expect(seen.add('00000000-0000-0000-0000-000100000000')).toBe(true)
      // Ids that differ in one 32-bit word only, or are each other's words swapped.
      let fresh = 0
      for (let i = 0; i < 20_000; i++) {
        const n = i.toString(16).padStart(8, '0')
        if (seen.add(`${n}-0000-4000-8000-000000000000`)) fresh++
        if (seen.add(`00000000-0000-4000-8000-0000${n}`)) fresh++
      }
      expect(fresh).toBe(40_000 - 1) // 00000000-… appears in both series once
      expect(seen.size).toBe(40_001)
    } finally {
      seen.close()
    }
  })
})
