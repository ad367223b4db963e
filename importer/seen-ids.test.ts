import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { SeenIds } from './seen-ids.ts'

describe('SeenIds', () => {
  it('reports repeats exactly, across growth', () => {
    const seen = new SeenIds(16)
    const ids = Array.from({ length: 20_000 }, () => randomUUID())
    expect(ids.every((id) => seen.add(id))).toBe(true)
    expect(seen.size).toBe(20_000)
    expect(ids.filter((_, i) => i % 1000 === 0).map((id) => seen.add(id))).toEqual(Array(20).fill(false))
    expect(seen.size).toBe(20_000)
  })
})
