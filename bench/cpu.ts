// CPU time per component, from /proc: a steadier figure than a rate on a shared two-core machine.
//
// A component is a process and, where it forks workers, its children: Postgres's backends come and go
// with connections, and the CPU of one that has exited is added to the postmaster's cutime/cstime when
// it is reaped. So a component's CPU is its own utime+stime, plus its reaped children's, plus the live
// children's utime+stime. Threads (the JVMs' and libuv's) are already inside their process's figures.
import { readdirSync, readFileSync } from 'node:fs'
import { type ProcStat, parseStat } from '../infra/processes.ts'

/** Clock ticks per second for /proc's times; 100 on every Linux this runs on (getconf CLK_TCK). */
export const CLOCK_TICKS = 100

function readAll(): ProcStat[] {
  const out: ProcStat[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      out.push(parseStat(readFileSync(`/proc/${entry}/stat`, 'utf8')))
    } catch {
      // gone between the listing and the read
    }
  }
  return out
}

/** Ticks a component has used so far: the process, its reaped children and its live children. */
export function componentTicks(all: readonly ProcStat[], root: number): number {
  const self = all.find((p) => p.pid === root)
  if (!self) return Number.NaN
  // A live child's own reaped children too: they move into the root's cutime when the child is reaped.
  const live = all.filter((p) => p.ppid === root).reduce((n, p) => n + p.own + p.reaped, 0)
  return self.own + self.reaped + live
}

export type Components = Record<string, number | undefined>

/** Ticks per component now; a component without a pid (not started by this run) is left out. */
export function sampleCpu(components: Components): Record<string, number> {
  const all = readAll()
  return Object.fromEntries(
    Object.entries(components)
      .filter((e): e is [string, number] => e[1] !== undefined)
      .map(([name, pid]) => [name, componentTicks(all, pid)]),
  )
}

/** CPU microseconds per event for each component over a window, and their total. */
export function cpuPerEvent(
  before: Record<string, number>,
  after: Record<string, number>,
  events: number,
): Record<string, number> {
  const per = Object.fromEntries(
    Object.keys(before).map((name) => [
      name,
      Math.round((((after[name] ?? Number.NaN) - before[name]!) * 1e6) / CLOCK_TICKS / Math.max(1, events)),
    ]),
  )
  return { ...per, total: Object.values(per).reduce((a, b) => a + b, 0) }
}
