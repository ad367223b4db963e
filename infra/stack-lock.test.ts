// The local stack's lock names its owner by pid and start time, so that a pid reused after a crash or
// a reboot is not taken for a running stack (other terminals would use dead URLs).
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { processStartTime, sameProcessAlive } from './processes.ts'
import { readRunningStack } from './stack.ts'

const env = {
  KAFKA_BROKERS: '127.0.0.1:1',
  SCHEMA_REGISTRY_URL: 'http://127.0.0.1:2',
  DATABASE_URL: 'postgres://x',
}

function lockIn(fields: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'stockflow-lock-'))
  writeFileSync(join(dir, 'stack.lock.json'), JSON.stringify({ env, children: [], ready: true, ...fields }))
  return dir
}

describe('the stack lock', () => {
  const me = process.pid
  const started = processStartTime(me)!

  it('knows a process by its pid and start time', () => {
    expect(started).toBeGreaterThan(0)
    expect(sameProcessAlive(me, started)).toBe(true)
    expect(sameProcessAlive(me, started + 1)).toBe(false)
  })

  it('gives the URLs of a running, ready stack, with the app URL when it has one', () => {
    expect(readRunningStack(lockIn({ pid: me, startTime: started }))).toEqual(env)
    expect(readRunningStack(lockIn({ pid: me, startTime: started, appUrl: 'postgres://app' }))).toEqual({
      ...env,
      DATABASE_APP_URL: 'postgres://app',
    })
  })

  it('ignores a lock whose pid now belongs to another process, one not ready yet, and a torn one', () => {
    expect(readRunningStack(lockIn({ pid: me, startTime: started - 1 }))).toBeUndefined()
    expect(readRunningStack(lockIn({ pid: me, startTime: started, ready: false }))).toBeUndefined()
    const torn = mkdtempSync(join(tmpdir(), 'stockflow-lock-'))
    writeFileSync(join(torn, 'stack.lock.json'), '{"pid": ')
    expect(readRunningStack(torn)).toBeUndefined()
  })
})
