// The folder watcher's rescan, on a real folder: a file the watcher's events did not bring (or brought
// while the importer could not take it) is reported again, and the importer's own folders are not.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '../lib/log.ts'
import { type FolderWatch, watchFolder } from './watch-folder.ts'

let watching: FolderWatch | undefined
let dir: string | undefined
afterEach(async () => {
  await watching?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (check()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe('watchFolder rescan', () => {
  it('reports a file still in the folder again, and nothing from processed/ or a temporary file', async () => {
    dir = await mkdtemp(join(tmpdir(), 'stockflow-watch-'))
    await mkdir(join(dir, 'processed'))
    await mkdir(join(dir, 'uploads'))
    await writeFile(join(dir, 'processed', 'old.csv'), 'x\n')
    await writeFile(join(dir, 'uploads', 'left.csv'), 'x\n')
    await writeFile(join(dir, 'half.csv.part'), 'x\n')
    const reported: string[] = []
    const w = watchFolder({
      inputDir: dir,
      settleMs: 0,
      rescanMs: 100,
      log: createLogger({ name: 'test', level: 'silent' }),
      ready: (p) => reported.push(p),
    })
    watching = w
    await w.ready
    // Once from the watcher's first look, then again from each rescan while it stays.
    await until('the file reported twice', () => reported.filter((p) => p.endsWith('left.csv')).length >= 2)
    expect([...new Set(reported)]).toEqual([join(dir, 'uploads', 'left.csv')])
  })
})
