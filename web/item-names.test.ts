import { describe, expect, it } from 'vitest'
import type { Sql } from '../lib/db.ts'
import { createItemNameCache, itemLabel } from './item-names.ts'

describe('itemLabel', () => {
  const names = new Map([[12, { name: 'Blue mug', unit: 'pcs' }]])
  it('shows a known item by number and name, an unknown one by number', () => {
    expect(itemLabel(names, 12)).toBe('12 · Blue mug')
    expect(itemLabel(names, 13)).toBe('13')
    expect(itemLabel(names, null)).toBe('–')
  })
})

describe('createItemNameCache', () => {
  it('reads once per ttl, and does not keep a failed read', async () => {
    let now = 0
    let reads = 0
    let fail = false
    const sql = (async () => {
      reads++
      if (fail) throw new Error('database away')
      return [{ item_number: 1, name: `read ${reads}`, unit: null }]
    }) as unknown as Sql
    const cache = createItemNameCache({ sql, clock: () => now, ttlMs: 1000 })
    expect((await cache.get()).get(1)?.name).toBe('read 1')
    now = 999
    expect((await cache.get()).get(1)?.name).toBe('read 1')
    now = 1000
    expect((await cache.get()).get(1)?.name).toBe('read 2')
    fail = true
    now = 2000
    await expect(cache.get()).rejects.toThrow('database away')
    fail = false
    expect((await cache.get()).get(1)?.name).toBe('read 4')
  })
})
