import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { processStartTime } from '../infra/processes.ts'
import { acquireStartLock, liveOwner } from './start-lock.ts'

describe("the start lock's owner", () => {
  const alive = (pid: number, startTime: number | undefined) => pid === 42 && startTime !== 7

  it('is the pid of a live process', () => {
    expect(liveOwner('{"pid":42,"startTime":1}', alive)).toBe(42)
    expect(liveOwner('{"pid":42}', alive)).toBe(42)
  })

  it('is nobody for a dead pid, a reused pid, a torn or foreign file, or no file', () => {
    expect(liveOwner('{"pid":43,"startTime":1}', alive)).toBeUndefined()
    expect(liveOwner('{"pid":42,"startTime":7}', alive)).toBeUndefined()
    expect(liveOwner('{"pid": ', alive)).toBeUndefined()
    expect(liveOwner('{"pid":"42"}', alive)).toBeUndefined()
    expect(liveOwner('{"pid":-1}', alive)).toBeUndefined()
    expect(liveOwner(undefined, alive)).toBeUndefined()
  })
})

describe('acquireStartLock', () => {
  const folder = () => mkdtempSync(join(tmpdir(), 'stockflow-start-lock-'))

  it('refuses while a live process holds it, naming its pid', () => {
    const path = join(folder(), 'start.lock.json')
    // The test's parent (vitest's main process) is alive and is not us.
    const other = process.ppid
    writeFileSync(path, JSON.stringify({ pid: other, startTime: processStartTime(other) }))
    expect(() => acquireStartLock(path)).toThrow(`stockflow is already running in this folder (pid ${other};`)
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(other)
  })

  it('takes over a stale lock, and removes only its own on release', () => {
    const path = join(folder(), 'start.lock.json')
    writeFileSync(
      path,
      JSON.stringify({ pid: process.pid, startTime: (processStartTime(process.pid) ?? 0) - 1 }),
    )
    const lock = acquireStartLock(path)
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({
      pid: process.pid,
      startTime: processStartTime(process.pid),
    })
    lock.release()
    expect(() => readFileSync(path)).toThrow(/ENOENT/)
    const again = acquireStartLock(path)
    writeFileSync(path, '{"pid":1,"startTime":1}')
    again.release()
    expect(readFileSync(path, 'utf8')).toBe('{"pid":1,"startTime":1}')
  })
})
