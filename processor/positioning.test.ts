import { describe, expect, it } from 'vitest'
import { positionPartition } from './positioning.ts'

describe('positionPartition', () => {
  it('reads the log again under the lock before it calls a partition reset', async () => {
    // The range was read (end 100) before another processor applied up to 150 and let the partition go.
    const tx = (strings: TemplateStringsArray) => {
      const q = strings.join('?')
      if (q.includes('from consumer_offsets'))
        return Promise.resolve([{ next_offset: 150, last_record_sha256: null }])
      if (q.includes('from offset_incidents')) return Promise.resolve([])
      return Promise.reject(new Error(`unexpected query: ${q}`))
    }
    const deps = {
      sql: { begin: (fn: (t: typeof tx) => Promise<unknown>) => fn(tx) },
      admin: { fetchTopicOffsets: async () => [{ partition: 0, low: '0', high: '160' }] },
      groupId: 'g',
      topics: { errors: 'errors' },
      clock: () => 0,
    } as unknown as Parameters<typeof positionPartition>[0]
    expect(await positionPartition(deps, 'events', 0, { start: 0, end: 100 })).toEqual({
      kind: 'resume',
      offset: 150,
    })
  })
})
