import { describe, expect, it } from 'vitest'
import { missingTopicMessage, parseTailArgs } from './tail.ts'

describe('tail', () => {
  it('names a missing topic and the ones there are, leaving out the internal ones', () => {
    expect(missingTopicMessage('evnets', ['low-stock', '__consumer_offsets', 'events', 'errors'])).toBe(
      "topic 'evnets' does not exist; the broker has errors, events, low-stock",
    )
    expect(missingTopicMessage('events', ['__consumer_offsets'])).toBe(
      "topic 'events' does not exist; the broker has no topics yet",
    )
  })

  it('reads its arguments alone, so a mistake is a usage error before Kafka is asked', () => {
    expect(parseTailArgs(['events', '--from-beginning', '--max', '3'])).toMatchObject({
      topic: 'events',
      fromBeginning: true,
      max: 3,
    })
    expect(parseTailArgs(['--help'])).toBeUndefined()
    expect(() => parseTailArgs(['events', '--max', '0'])).toThrow(/^usage: stockflow tail/)
    expect(() => parseTailArgs(['events', '--frm'])).toThrow(
      expect.objectContaining({ code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' }),
    )
  })
})
