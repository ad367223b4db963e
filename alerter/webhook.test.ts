import { describe, expect, it } from 'vitest'
import { slackSafe } from './webhook.ts'

describe('slackSafe', () => {
  it('escapes what Slack reads as markup, so input cannot ping or plant a link', () => {
    expect(slackSafe("event_type '<!channel>' is not incoming or sale")).toBe(
      "event_type '&lt;!channel&gt;' is not incoming or sale",
    )
    expect(slackSafe('<https://evil.example|invoice.pdf> & more')).toBe(
      '&lt;https://evil.example|invoice.pdf&gt; &amp; more',
    )
    expect(slackSafe('hey @channel and @HERE, not me@example.com')).toBe(
      'hey @\u2060channel and @\u2060HERE, not me@example.com',
    )
  })
})
