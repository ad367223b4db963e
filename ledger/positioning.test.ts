import { describe, expect, it } from 'vitest'
import { decidePosition } from './positioning.ts'

describe('decidePosition', () => {
  const log = { start: 100, end: 250 }
  it('resumes at the stored offset inside the log, at its end, and at its start', () => {
    expect(decidePosition(180, log)).toEqual({ kind: 'resume', offset: 180 })
    expect(decidePosition(250, log)).toEqual({ kind: 'resume', offset: 250 })
    expect(decidePosition(100, log)).toEqual({ kind: 'resume', offset: 100 })
  })
  it('reports records removed by retention before they were applied, with the count', () => {
    expect(decidePosition(40, log)).toEqual({ kind: 'expired', stored: 40, offset: 100, lost: 60 })
    expect(decidePosition(undefined, log)).toEqual({
      kind: 'expired',
      stored: undefined,
      offset: 100,
      lost: 100,
    })
  })
  it('a new partition on a complete log starts at zero', () => {
    expect(decidePosition(undefined, { start: 0, end: 7 })).toEqual({ kind: 'resume', offset: 0 })
  })
  it('halts when the ledger is past the end of the log (the topic was recreated)', () => {
    expect(decidePosition(251, log)).toEqual({ kind: 'halt', stored: 251, log })
    expect(decidePosition(5, { start: 0, end: 0 })).toEqual({
      kind: 'halt',
      stored: 5,
      log: { start: 0, end: 0 },
    })
  })
})
