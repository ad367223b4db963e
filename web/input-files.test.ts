import { mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { findReceipt, inside, placeUpload, readRejectedRows, uploadName } from './input-files.ts'

const receipt = (file: string, started: string, extra: object = {}) =>
  JSON.stringify({ file, sha256: 'abc', started_at: started, rejected_csv: null, ...extra })

describe('inside', () => {
  it('keeps a recorded name inside its folder', () => {
    expect(inside('/in/processed', 'a/b.csv')).toBe('/in/processed/a/b.csv')
    expect(inside('/in/processed', '../../etc/passwd')).toBeUndefined()
    expect(inside('/in/processed', '/etc/passwd')).toBeUndefined()
    expect(inside('/in/processed', '')).toBeUndefined()
    expect(inside('/in/processed', 'a\0b')).toBeUndefined()
  })
})

describe('uploadName', () => {
  it('keeps a plain base name, and makes anything else one', () => {
    expect(uploadName('stores.csv')).toBe('stores.csv')
    expect(uploadName('C:\\\\Users\\\\me\\\\März 2024.CSV')).toBe('M_rz_2024.csv')
    expect(uploadName('../../.hidden')).toBe('hidden.csv')
    expect(uploadName('...')).toBe('upload.csv')
  })
})

describe('placeUpload', () => {
  it('never replaces a file already there, and leaves no temporary file behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sf-upload-'))
    const first = await placeUpload(dir, 'a.csv', Readable.from([Buffer.from('one\n')]), 100)
    const second = await placeUpload(dir, 'a.csv', Readable.from([Buffer.from('two\n')]), 100)
    expect([first, second]).toEqual(['uploads/a.csv', 'uploads/a-1.csv'])
    expect(await readFile(join(dir, first), 'utf8')).toBe('one\n')
    expect(await readFile(join(dir, second), 'utf8')).toBe('two\n')
    const { readdir } = await import('node:fs/promises')
    expect((await readdir(join(dir, 'uploads'))).sort()).toEqual(['a-1.csv', 'a.csv'])
  })

  it('refuses an empty or oversized upload with a clear error, writing nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sf-upload-'))
    await expect(placeUpload(dir, 'e.csv', Readable.from([]), 100)).rejects.toMatchObject({
      code: 'WEB_INPUT',
      message: 'the uploaded file is empty',
    })
    await expect(placeUpload(dir, 'big.csv', Readable.from([Buffer.alloc(101)]), 100)).rejects.toMatchObject({
      code: 'WEB_INPUT',
    })
    const { readdir } = await import('node:fs/promises')
    expect(await readdir(join(dir, 'uploads'))).toEqual([])
  })
})

describe('findReceipt', () => {
  it('finds the receipt of this import among numbered names, and ignores a symlinked one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sf-receipt-'))
    await mkdir(join(dir, 'processed'), { recursive: true })
    const t1 = '2026-01-01T00:00:00.000Z'
    const t2 = '2026-01-02T00:00:00.000Z'
    await writeFile(join(dir, 'processed', 'x.csv.receipt.json'), receipt('x.csv', t1))
    await writeFile(
      join(dir, 'processed', 'x-1.csv.receipt.json'),
      receipt('x.csv', t2, { rejected_csv: 'x-1.csv.rejected.csv' }),
    )
    const found = await findReceipt(dir, {
      file_name: 'x.csv',
      sha256: 'abc',
      status: 'processed',
      started_at: new Date(t2),
    })
    expect(found?.path).toBe(join(dir, 'processed', 'x-1.csv'))
    expect(found?.rejectedPath).toBe(join(dir, 'processed', 'x-1.csv.rejected.csv'))
    expect(
      await findReceipt(dir, {
        file_name: '../x.csv',
        sha256: null,
        status: 'processed',
        started_at: new Date(t1),
      }),
    ).toBeUndefined()

    await writeFile(join(dir, 'secret.json'), receipt('y.csv', t1))
    await symlink(join(dir, 'secret.json'), join(dir, 'processed', 'y.csv.receipt.json'))
    expect(
      await findReceipt(dir, {
        file_name: 'y.csv',
        sha256: 'abc',
        status: 'processed',
        started_at: new Date(t1),
      }),
    ).toBeUndefined()
  })
})

describe('readRejectedRows', () => {
  it('pages through the rows after the header', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sf-rejected-'))
    const path = join(dir, 'r.csv')
    await writeFile(path, 'a,error\n1,E1: x\n2,"E2: y, z"\n3,E3: w\n')
    expect(await readRejectedRows(path, 1, 1)).toEqual({
      header: ['a', 'error'],
      rows: [['2', 'E2: y, z']],
      more: true,
    })
    expect(await readRejectedRows(path, 2, 5)).toEqual({
      header: ['a', 'error'],
      rows: [['3', 'E3: w']],
      more: false,
    })
  })
})
