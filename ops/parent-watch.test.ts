import { describe, expect, it } from 'vitest'
import { type Ancestor, ancestorsToWatch, readAncestor, readAncestry } from './parent-watch.ts'

const NPM_CLI = '/usr/lib/node_modules/npm/bin/npm-cli.js'
const proc = (pid: number, ...argv: string[]): Ancestor => ({ pid, ppid: pid - 1, startTime: pid * 10, argv })

describe('ancestorsToWatch', () => {
  it('watches the parent alone when npm did not run us', () => {
    const chain = [proc(30, 'bash'), proc(20, 'sshd: ann')]
    expect(ancestorsToWatch(chain, undefined).map((a) => a.pid)).toEqual([30])
  })

  it('watches up to npm through the shell npm runs the script with', () => {
    const chain = [
      proc(40, 'sh', '-c', 'node bin/stockflow.js start'),
      proc(30, 'npm start'),
      proc(20, 'bash'),
    ]
    expect(ancestorsToWatch(chain, NPM_CLI).map((a) => a.pid)).toEqual([40, 30])
  })

  it('knows npm by its script when it has not renamed itself, and through the launcher of an old Node', () => {
    const chain = [
      proc(50, '/usr/bin/node', '/work/bin/stockflow.js', 'start'),
      proc(40, 'sh', '-c', 'node bin/stockflow.js start'),
      proc(30, '/usr/bin/node', NPM_CLI, 'start'),
      proc(20, 'bash'),
    ]
    expect(ancestorsToWatch(chain, NPM_CLI).map((a) => a.pid)).toEqual([50, 40, 30])
  })

  it('falls back to the parent when npm is not among the nearest ancestors, and never watches init', () => {
    expect(ancestorsToWatch([proc(40, 'sh'), proc(30, 'make')], NPM_CLI).map((a) => a.pid)).toEqual([40])
    expect(ancestorsToWatch([{ ...proc(1, '/sbin/init'), ppid: 0 }], NPM_CLI)).toEqual([])
  })
})

describe('reading ancestors from /proc', () => {
  it('reads this process and its parent, and nothing for a pid that does not exist', () => {
    const me = readAncestor(process.pid)
    expect(me).toMatchObject({ pid: process.pid, ppid: process.ppid })
    expect(me?.argv[0]).toBe(process.execPath)
    expect(readAncestry(process.ppid)[0]?.pid).toBe(process.ppid)
    expect(readAncestor(2 ** 22 + 1)).toBeUndefined()
  })
})
