import { describe, expect, it } from 'vitest'
import { hasHeapFlags, heapFlags, type ProcessLike, relaunchPlan } from './runtime.ts'

const memory = { heapMb: 48, youngMb: 2 }
const proc = (over: Partial<ProcessLike> = {}): ProcessLike => ({
  execArgv: ['--enable-source-maps'],
  argv: ['/opt/node', '/app/bin/commands.ts', 'importer'],
  execPath: '/opt/node',
  platform: 'linux',
  env: { PATH: '/bin' },
  execve: (() => {
    throw new Error('not in a unit test')
  }) as ProcessLike['execve'],
  ...over,
})

describe('relaunchPlan', () => {
  it('restarts the same command under the heap flags, with one malloc arena', () => {
    expect(relaunchPlan(proc(), memory)).toEqual({
      args: [
        '/opt/node',
        '--enable-source-maps',
        '--max-old-space-size=48',
        '--max-semi-space-size=2',
        '/app/bin/commands.ts',
        'importer',
      ],
      env: { PATH: '/bin', MALLOC_ARENA_MAX: '1' },
    })
  })

  it("keeps the operator's own flags and arena count", () => {
    expect(relaunchPlan(proc({ execArgv: ['--max-old-space-size=512'] }), memory)).toBeUndefined()
    expect(relaunchPlan(proc({ env: { NODE_OPTIONS: '--max-old-space-size=300' } }), memory)).toBeUndefined()
    expect(relaunchPlan(proc({ env: { MALLOC_ARENA_MAX: '4' } }), memory)?.env.MALLOC_ARENA_MAX).toBe('4')
  })

  it('does nothing once relaunched, or where the process cannot be replaced', () => {
    const plan = relaunchPlan(proc(), memory)!
    expect(relaunchPlan(proc({ execArgv: plan.args.slice(1, 4) }), memory)).toBeUndefined()
    expect(relaunchPlan(proc({ execve: undefined }), memory)).toBeUndefined()
    expect(relaunchPlan(proc({ platform: 'win32' }), memory)).toBeUndefined()
    expect(relaunchPlan(proc({ env: { NODE_OPTIONS: '--max_old_space_size=512' } }), memory)).toBeUndefined()
  })
})

describe('heap flags', () => {
  it('are the two V8 flags', () => {
    expect(heapFlags({ heapMb: 96, youngMb: 4 })).toEqual([
      '--max-old-space-size=96',
      '--max-semi-space-size=4',
    ])
    expect(hasHeapFlags([], '--trace-gc --max-old-space-size=64')).toBe(true)
    expect(hasHeapFlags(['--trace-gc'], undefined)).toBe(false)
  })
})
