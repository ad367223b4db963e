import { describe, expect, it } from 'vitest'
import { createPartitionTracker } from './partition-tracker.ts'

const halt = { stored: 9, log: { start: 0, end: 3 } }

describe('PartitionTracker', () => {
  it('starts every assigned partition unpositioned, and knows no other', () => {
    const t = createPartitionTracker()
    t.assign([0, 2])
    expect(t.assigned()).toEqual([0, 2])
    expect([t.needsPosition(0), t.needsPosition(2), t.state(1)]).toEqual([true, true, undefined])
  })

  it('positions, then follows the chunks it applied: only a chunk at the next offset continues', () => {
    const t = createPartitionTracker()
    t.assign([0])
    t.positioning(0)
    expect(t.state(0)).toEqual({ kind: 'positioned', continuesFrom: undefined })
    expect(t.continues(0, 5)).toBe(false)
    t.applied(0, 5)
    expect([t.continues(0, 5), t.continues(0, 6), t.needsPosition(0)]).toEqual([true, false, false])
  })

  it('a recheck during positioning leaves the partition to be positioned again', () => {
    const t = createPartitionTracker()
    t.assign([0])
    t.positioning(0)
    t.recheck()
    expect(t.needsPosition(0)).toBe(true)
    // The positioning that was running then finds nothing to record: applied() does not position it.
    t.applied(0, 7)
    expect(t.state(0)).toEqual({ kind: 'unpositioned' })
  })

  it('halts until resumed, and a recheck leaves a halted partition halted', () => {
    const t = createPartitionTracker()
    t.assign([0, 1])
    t.positioning(0)
    t.halt(0, halt)
    t.recheck()
    expect(t.state(0)).toEqual({ kind: 'halted', halt })
    expect(t.halted()).toEqual([{ partition: 0, halt }])
    expect(t.needsPosition(1)).toBe(true)
    expect(t.resume(1)).toBe(false)
    expect(t.resume(0)).toBe(true)
    expect([t.needsPosition(0), t.halted()]).toEqual([true, []])
  })

  it('a new assignment forgets halts and partitions no longer held', () => {
    const t = createPartitionTracker()
    t.assign([0, 1])
    t.halt(0, halt)
    t.assign([0])
    expect([t.state(0), t.state(1), t.halted()]).toEqual([{ kind: 'unpositioned' }, undefined, []])
  })

  it('ignores transitions of partitions it does not hold', () => {
    const t = createPartitionTracker()
    t.assign([0])
    t.halt(3, halt)
    t.positioning(3)
    t.applied(3, 1)
    expect([t.assigned(), t.halted()]).toEqual([[0], []])
  })
})
