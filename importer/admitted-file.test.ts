import { appendFile, mkdtemp, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openAdmitted, sha256Of } from './admitted-file.ts'

async function text(s: NodeJS.ReadableStream): Promise<string> {
  let out = ''
  for await (const c of s) out += String(c)
  return out
}

describe('openAdmitted', () => {
  it('reads the same descriptor again and again, even after a stream was abandoned half way', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'admit-'))
    await writeFile(join(dir, 'a.csv'), 'hello,world\n')
    const opened = await openAdmitted(dir, join(dir, 'a.csv'), 1000)
    if (!opened.ok) throw new Error(opened.message)
    const f = opened.file
    try {
      const early = f.stream({ highWaterMark: 2 })
      for await (const _ of early) break
      expect(await text(f.stream({ start: 0, end: 4 }))).toBe('hello')
      expect(await text(f.stream())).toBe('hello,world\n')
      expect(await sha256Of(f)).toMatch(/^[0-9a-f]{64}$/)
    } finally {
      await f.close()
    }
  })

  it('refuses a symlink, a file outside the folder and a file too large', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'admit-'))
    const outside = await mkdtemp(join(tmpdir(), 'outside-'))
    await writeFile(join(outside, 'secret'), 'x')
    await symlink(join(outside, 'secret'), join(dir, 'link.csv'))
    await symlink(outside, join(dir, 'sub'))
    await writeFile(join(dir, 'big.csv'), 'x'.repeat(20))
    expect(await openAdmitted(dir, join(dir, 'link.csv'), 100)).toMatchObject({ ok: false, code: 'SYMLINK' })
    expect(await openAdmitted(dir, join(dir, 'sub', 'secret'), 100)).toMatchObject({
      ok: false,
      code: 'OUTSIDE_INPUT_DIR',
    })
    expect(await openAdmitted(dir, join(dir, 'big.csv'), 10)).toMatchObject({
      ok: false,
      code: 'FILE_TOO_LARGE',
    })
  })
})

describe('a file written on after it was admitted', () => {
  it('is seen to have changed, so it is read again instead of receipted with the wrong hash', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'admitted-'))
    await writeFile(join(dir, 'a.csv'), 'header\n')
    const opened = await openAdmitted(dir, `${dir}/a.csv`, 1 << 20)
    if (!opened.ok) throw new Error('not admitted')
    try {
      expect(await opened.file.changed()).toBe(false)
      await appendFile(`${dir}/a.csv`, 'more\n')
      expect(await opened.file.changed()).toBe(true)
    } finally {
      await opened.file.close()
    }
  })
})
