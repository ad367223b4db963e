import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { formatAge, formatBytes, importedInProcessing, listInputQueue } from './input-queue.ts'

describe('importedInProcessing', () => {
  it('lists the files, not the outputs the importer writes beside them', () => {
    expect(
      importedInProcessing(['a.csv', 'a.csv.rejected.csv', 'a.csv.receipt.json', 'b.csv.rejected.csv']),
    ).toEqual(['a.csv', 'b.csv.rejected.csv'])
  })
})

describe('formatAge and formatBytes', () => {
  it('reads at a glance', () => {
    expect([0, 42_000, 300_000, 3_600_000, 12_000_000, 86_400_000, 187_200_000].map(formatAge)).toEqual([
      '0 s',
      '42 s',
      '5 min',
      '1 h',
      '3 h 20 min',
      '1 d',
      '2 d 4 h',
    ])
    expect([0, 980, 1024, 12_700, 3_250_000, 5 * 1024 ** 3].map(formatBytes)).toEqual([
      '0 B',
      '980 B',
      '1.0 KB',
      '12 KB',
      '3.1 MB',
      '5.0 GB',
    ])
  })
})

describe('listInputQueue', () => {
  let dir: string | undefined
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('lists waiting files oldest first, and the files in processing/ without their outputs', async () => {
    dir = await mkdtemp(join(tmpdir(), 'stockflow-queue-'))
    await mkdir(join(dir, 'uploads'))
    await mkdir(join(dir, 'processing'))
    await mkdir(join(dir, 'processed'))
    await writeFile(join(dir, 'new.csv'), 'abc')
    await writeFile(join(dir, 'uploads', 'old.csv'), 'abcdef')
    await utimes(
      join(dir, 'uploads', 'old.csv'),
      new Date('2026-01-01T00:00:00Z'),
      new Date('2026-01-01T00:00:00Z'),
    )
    await writeFile(join(dir, 'half.csv.part'), 'x')
    await writeFile(join(dir, 'processed', 'done.csv'), 'x')
    await writeFile(join(dir, 'processing', 'busy.csv'), '12345')
    await writeFile(join(dir, 'processing', 'busy.csv.rejected.csv'), 'x')

    const q = await listInputQueue(dir, 10)
    expect(q.waiting.files.map((f) => [f.name, f.bytes])).toEqual([
      [join('uploads', 'old.csv'), 6],
      ['new.csv', 3],
    ])
    expect(q.waiting.files[0]!.since.toISOString()).toBe('2026-01-01T00:00:00.000Z')
    expect(q.processing.files.map((f) => [f.name, f.bytes])).toEqual([['busy.csv', 5]])
    expect([q.waiting.more, q.waiting.partial, q.processing.more]).toEqual([0, false, 0])

    const one = await listInputQueue(dir, 1)
    expect(one.waiting.files.map((f) => f.name)).toEqual([join('uploads', 'old.csv')])
    expect(one.waiting.more).toBe(1)
  })

  it('answers empty lists for a folder that is not there', async () => {
    const q = await listInputQueue(join(tmpdir(), 'stockflow-no-such-folder-9f2c'))
    expect(q.waiting).toEqual({ files: [], more: 0, partial: false })
    expect(q.processing).toEqual({ files: [], more: 0, partial: false })
  })
})
