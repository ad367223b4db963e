import { describe, expect, it } from 'vitest'
import { offsetRows } from './positioning.ts'

describe('offsetRows', () => {
  const range = (start: number, end: number) => new Map([[0, { start, end }]])

  it('calls a partition behind only while records it has not read remain', () => {
    // The ledger's next offset is 6; offset 6 is a commit marker, and the processor read over it.
    expect(offsetRows(new Map([[0, 6]]), range(0, 7))[0]?.state).toBe('behind')
    expect(offsetRows(new Map([[0, 6]]), range(0, 7), new Set(), new Map([[0, 7]]))[0]).toEqual({
      partition: 0,
      stored: 6,
      logStart: 0,
      logEnd: 7,
      state: 'ok',
    })
    // A record written after what was read is still to do.
    expect(offsetRows(new Map([[0, 6]]), range(0, 9), new Set(), new Map([[0, 7]]))[0]?.state).toBe('behind')
  })
})
