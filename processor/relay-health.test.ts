import { describe, expect, it } from 'vitest'
import { createRelayHealth } from './relay-health.ts'

describe('relay health', () => {
  it('reports a relay failing for longer than allowed, with its last error, until a step succeeds', async () => {
    let now = 1000
    const h = createRelayHealth(() => now)
    await expect(h.track(() => Promise.reject(new Error('first')))).rejects.toThrow('first')
    now = 1200
    await expect(h.track(() => Promise.reject(new Error('second')))).rejects.toThrow('second')
    expect(h.stalled(300)).toBeUndefined()
    now = 1300
    expect(h.stalled(300)).toEqual({ sinceMs: 300, error: 'second' })
    expect(await h.track(async () => 5)).toBe(5)
    expect(h.stalled(0)).toBeUndefined()
  })
})
