// The processes that own children (npm start's supervisor, the local stack, the chaos harness) stay alive
// for exactly as long as they own children or pending restarts, whatever dies.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { pollUntil } from './support/context.ts'

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => n > 0)
  } catch {
    return []
  }
}

function start(name: string): { proc: ChildProcess; lines: string[]; exit: Promise<number | null> } {
  const proc = spawn(process.execPath, [fixture(name)], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines: string[] = []
  proc.stdout!.on('data', (b: Buffer) => lines.push(...b.toString().trim().split('\n')))
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  return { proc, lines, exit }
}

describe('owners of child processes', () => {
  let owner: ReturnType<typeof start> | undefined
  afterEach(() => {
    if (owner?.proc.exitCode === null) owner.proc.kill('SIGKILL')
  })

  it('a supervisor whose children are all killed at once stays up and restarts every one', async () => {
    owner = start('supervise-owner.ts')
    const first = await pollUntil('three children', async () => {
      const kids = childrenOf(owner!.proc.pid!)
      return kids.length === 3 ? kids : undefined
    })
    for (const pid of first) process.kill(pid, 'SIGKILL')
    const second = await pollUntil(
      'three new children',
      async () => {
        const kids = childrenOf(owner!.proc.pid!)
        return kids.length === 3 && kids.every((k) => !first.includes(k)) ? kids : undefined
      },
      { timeoutMs: 15_000 },
    )
    expect(owner.proc.exitCode).toBeNull()
    owner.proc.kill('SIGTERM')
    expect(await owner.exit).toBe(0)
    expect(second.filter(alive)).toEqual([])
  })

  it('an owner that only waits on a stack daemon stays alive until the daemon exits', async () => {
    owner = start('daemon-owner.ts')
    const { pid } = await pollUntil('daemon started', async () =>
      owner!.lines[0] ? (JSON.parse(owner!.lines[0]) as { pid: number }) : undefined,
    )
    expect(owner.proc.exitCode).toBeNull()
    process.kill(pid, 'SIGKILL')
    expect(await owner.exit).toBe(0)
    expect(owner.lines.slice(1)).toEqual([JSON.stringify({ exited: null })])
  })
})

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
