// The life cycle of each partition this processor holds, as one small state machine (pure, no I/O):
//
//   (assigned) -> unpositioned -> positioned -> (applies batches; remembers where the last one ended)
//                      ^   |            |
//                      |   +-> halted --+-- an operator accepted the reset: unpositioned again
//                      +--------------------- recheck, a batch below the ledger, a failed positioning
//
// An assignment starts every partition afresh (a halt is found again from the ledger), and forgets the ones
// no longer assigned.
import type { LogRange } from '../ledger/positioning.ts'

export interface Halt {
  stored: number
  log: LogRange
}

export type PartitionState =
  | { kind: 'unpositioned' }
  /** `continuesFrom`: the offset right after the last chunk applied since it was positioned. */
  | { kind: 'positioned'; continuesFrom: number | undefined }
  | { kind: 'halted'; halt: Halt }

export interface PartitionTracker {
  /** A new assignment: these partitions, each unpositioned; any other is forgotten, halted or not. */
  assign(partitions: number[]): void
  assigned(): number[]
  state(partition: number): PartitionState | undefined
  /** Its first batch must position it at the ledger's offset before anything is applied. */
  needsPosition(partition: number): boolean
  /**
   * Positioning starts: from here a recheck that arrives while it runs leaves the partition unpositioned
   * again, so it is not lost.
   */
  positioning(partition: number): void
  /** Positioning failed, or a batch showed it must be done again. */
  reposition(partition: number): void
  halt(partition: number, halt: Halt): void
  /** An operator accepted the reset: the partition is positioned afresh. False when it was not halted. */
  resume(partition: number): boolean
  /** A chunk was applied up to `next` (exclusive). */
  applied(partition: number, next: number): void
  /** Whether a chunk starting at `offset` follows the last one applied, with no gap to look for. */
  continues(partition: number, offset: number): boolean
  /** Every assigned partition that is not halted is positioned again before its next batch. */
  recheck(): void
  halted(): { partition: number; halt: Halt }[]
}

export function createPartitionTracker(): PartitionTracker {
  const states = new Map<number, PartitionState>()
  const is = (p: number, kind: PartitionState['kind']) => states.get(p)?.kind === kind

  return {
    assign(partitions) {
      states.clear()
      for (const p of partitions) states.set(p, { kind: 'unpositioned' })
    },
    assigned: () => [...states.keys()],
    state: (p) => states.get(p),
    needsPosition: (p) => is(p, 'unpositioned'),
    positioning(p) {
      if (states.has(p)) states.set(p, { kind: 'positioned', continuesFrom: undefined })
    },
    reposition(p) {
      if (states.has(p)) states.set(p, { kind: 'unpositioned' })
    },
    halt(p, halt) {
      if (states.has(p)) states.set(p, { kind: 'halted', halt })
    },
    resume(p) {
      if (!is(p, 'halted')) return false
      states.set(p, { kind: 'unpositioned' })
      return true
    },
    applied(p, next) {
      if (is(p, 'positioned')) states.set(p, { kind: 'positioned', continuesFrom: next })
    },
    continues(p, offset) {
      const s = states.get(p)
      return s?.kind === 'positioned' && s.continuesFrom === offset
    },
    recheck() {
      for (const [p, s] of states) if (s.kind !== 'halted') states.set(p, { kind: 'unpositioned' })
    },
    halted: () =>
      [...states].flatMap(([partition, s]) => (s.kind === 'halted' ? [{ partition, halt: s.halt }] : [])),
  }
}
