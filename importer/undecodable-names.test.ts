import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../lib/log.ts'
import { readableName, renameUndecodable } from './undecodable-names.ts'

const cp1252 = (s: string) => Buffer.from(s, 'latin1')

describe('file names that are not UTF-8', () => {
  it('reads them as Windows-1252 and leaves UTF-8 names alone', () => {
    expect(readableName(cp1252('Lager_Müller.csv'))).toBe('Lager_Müller.csv')
    expect(readableName(Buffer.from([0x80, 0x2e, 0x63]))).toBe('€.c')
    expect(readableName(Buffer.from('Lager_Müller.csv'))).toBeUndefined()
  })

  it("renames them in subfolders too, to a free name, and not inside the importer's own folders", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'names-'))
    await mkdir(join(dir, 'processed'))
    await mkdir(Buffer.concat([Buffer.from(`${dir}/`), cp1252('Zürich')]))
    await writeFile(join(dir, 'Lager_Müller.csv'), 'taken')
    await writeFile(Buffer.concat([Buffer.from(`${dir}/`), cp1252('Lager_Müller.csv')]), 'a')
    await writeFile(Buffer.concat([Buffer.from(`${dir}/`), cp1252('Zürich/Bäckerei.csv')]), 'b')
    await writeFile(Buffer.concat([Buffer.from(`${dir}/processed/`), cp1252('ä.csv')]), 'c')
    const renamed = await renameUndecodable(dir, dir, createLogger({ name: 't', level: 'silent' }))
    expect(renamed.map((p) => p.slice(dir.length + 1)).sort()).toEqual([
      'Lager_Müller-1.csv',
      'Zürich',
      'Zürich/Bäckerei.csv',
    ])
    expect(
      (await readdir(join(dir, 'processed'), { encoding: 'buffer' })).map((b) => b.toString('hex')),
    ).toEqual([cp1252('ä.csv').toString('hex')])
  })

  it('keeps a name that grows past 255 bytes when read as Windows-1252 within the limit', () => {
    const name = Buffer.concat([Buffer.alloc(200, 0xfc), Buffer.from('.csv')])
    const readable = readableName(name)!
    expect(Buffer.byteLength(readable)).toBeLessThanOrEqual(255)
    expect(readable).toMatch(/^ü+~[0-9a-f]{8}\.csv$/)
  })
})
