import { describe, expect, it } from 'vitest'
import { parseStat } from '../infra/processes.ts'
import { componentTicks, cpuPerEvent } from './cpu.ts'

// A real /proc/PID/stat shape, with a command name that holds a space and a parenthesis.
const line = (pid: number, ppid: number, utime: number, stime: number, cutime: number, cstime: number) =>
  `${pid} (postgres: a) b) S ${ppid} ${pid} ${pid} 0 -1 4194560 100 0 0 0 ${utime} ${stime} ${cutime} ${cstime} 20 0 1 0 5000 1000 200`

describe('per-component CPU', () => {
  it('reads utime+stime, the reaped children and the start time from a stat line', () => {
    expect(parseStat(line(42, 1, 300, 50, 70, 30))).toEqual({
      pid: 42,
      ppid: 1,
      own: 350,
      reaped: 100,
      startTime: 5000,
    })
  })

  it('counts a component as itself, its reaped children and its live children', () => {
    const all = [
      parseStat(line(10, 1, 100, 20, 500, 100)), // postmaster, 600 ticks of exited backends
      parseStat(line(11, 10, 40, 10, 0, 0)), // a live backend
      parseStat(line(12, 10, 5, 5, 0, 0)),
      parseStat(line(13, 11, 999, 0, 0, 0)), // a grandchild is its parent's to count
    ]
    expect(componentTicks(all, 10)).toBe(120 + 600 + 50 + 10)
    const withGrandchildren = [parseStat(line(10, 1, 0, 0, 0, 0)), parseStat(line(11, 10, 5, 5, 30, 0))]
    expect(componentTicks(withGrandchildren, 10)).toBe(10 + 30)
    expect(componentTicks(all, 99)).toBeNaN()
  })

  it('turns ticks over a window into microseconds per event', () => {
    expect(cpuPerEvent({ kafka: 1000, postgres: 50 }, { kafka: 1300, postgres: 250 }, 100_000)).toEqual({
      kafka: 30,
      postgres: 20,
      total: 50,
    })
  })
})
