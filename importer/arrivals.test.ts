import { appendFileSync, linkSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type Arrivals, createArrivals, identityOf, isTemporaryName } from './arrivals.ts'

const until = async (what: () => boolean, ms = 5000) => {
  const deadline = Date.now() + ms
  while (!what()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('arrivals', () => {
  let arrivals: Arrivals | undefined
  afterEach(() => arrivals?.close())
  const dir = () => mkdtempSync(join(tmpdir(), 'stockflow-arrivals-'))

  it('knows the temporary names writers rename from', () => {
    expect(['.x.csv', 'x.csv.tmp', 'x.PART', 'x.csv.crdownload'].map(isTemporaryName)).toEqual([
      true,
      true,
      true,
      true,
    ])
    expect(isTemporaryName('x.csv')).toBe(false)
    expect(identityOf({ dev: 1n, ino: 2n, birthtimeNs: 0n, nlink: 1n })).toBeUndefined()
    expect(identityOf({ dev: 1n, ino: 2n, birthtimeNs: 5n, nlink: 2n })).toBeUndefined() // a hard link
    expect(identityOf({ dev: 1n, ino: 2n, birthtimeNs: 5n, nlink: 1n })).toEqual({
      dev: 1n,
      ino: 2n,
      birthtimeNs: 5n,
    })
  })

  it('takes a file renamed from a temporary one at once, however long the settle time', () => {
    const d = dir()
    const ready: string[] = []
    arrivals = createArrivals({ settleMs: 600_000, ready: (p) => ready.push(p) })
    writeFileSync(join(d, '.a.csv'), 'transaction_id\n')
    arrivals.sawTemporary(join(d, '.a.csv'))
    renameSync(join(d, '.a.csv'), join(d, 'a.csv'))
    arrivals.arrived(join(d, 'a.csv'))
    expect(ready).toEqual([join(d, 'a.csv')])
  })

  it('lets a file written in place settle, and a temporary seen for another file is no pass', async () => {
    const d = dir()
    const ready: string[] = []
    let clock = 0
    arrivals = createArrivals({ settleMs: 150, pollMs: 5, now: () => clock, ready: (p) => ready.push(p) })
    writeFileSync(join(d, 'other.tmp'), 'x')
    arrivals.sawTemporary(join(d, 'other.tmp'))
    const path = join(d, 'b.csv')
    writeFileSync(path, 'transaction_id\n')
    arrivals.arrived(path)
    appendFileSync(path, 'row\n')
    clock = 100
    arrivals.arrived(path) // a change event while it settles changes nothing
    expect(ready).toEqual([])
    // Time passes with no more writes: the file is taken once.
    await until(() => {
      clock += 100
      return ready.length === 1
    })
    expect(ready).toEqual([path])
  })

  it('does not take a hard-linked temporary early: it may still be written through its other name', () => {
    const d = dir()
    const ready: string[] = []
    arrivals = createArrivals({ settleMs: 600_000, ready: (p) => ready.push(p) })
    writeFileSync(join(d, '.h.csv'), 'transaction_id\n')
    arrivals.sawTemporary(join(d, '.h.csv'))
    linkSync(join(d, '.h.csv'), join(d, 'h.csv'))
    arrivals.arrived(join(d, 'h.csv'))
    expect(ready).toEqual([])
  })

  it('takes everything at once when the settle time is zero', () => {
    const d = dir()
    const ready: string[] = []
    arrivals = createArrivals({ settleMs: 0, ready: (p) => ready.push(p) })
    writeFileSync(join(d, 'c.csv'), 'x')
    arrivals.arrived(join(d, 'c.csv'))
    expect(ready).toEqual([join(d, 'c.csv')])
  })
})
