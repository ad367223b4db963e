// File names that are not UTF-8, e.g. `Lager_Müller.csv` written by a Windows-1252 system (ü is the
// single byte 0xfc). Node decodes such a name with U+FFFD in place of the bad bytes, and every later open
// of that string fails with ENOENT: the file would be ignored for ever. Read as bytes, the name is given
// the readable name it was meant to have, and the watcher then imports it like any other file.
import { link, readdir, rename, unlink } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fittedName, numberedName, STATE_DIRS } from '../ledger/input-folder.ts'
import type { Logger } from '../lib/log.ts'
import { exists } from './file-lifecycle.ts'

const utf8 = new TextDecoder('utf-8', { fatal: true })
// Legacy Windows and old Unix systems write names in Windows-1252 (a superset of Latin-1's letters).
const cp1252 = new TextDecoder('windows-1252')

/** The name to give a file whose name is not UTF-8, or undefined when it is UTF-8 already. */
export function readableName(name: Buffer): string | undefined {
  try {
    utf8.decode(name)
    return undefined
  } catch {
    // Each byte from 0x80 up takes two or three bytes in UTF-8: the readable name may not fit any more.
    return fittedName(cp1252.decode(name).replaceAll('/', '_'))
  }
}

/**
 * Gives `from` the first free numbered name of `to`. A file is linked under the new name, which fails
 * instead of replacing a file that appeared there meanwhile, and then unlinked under the old one.
 */
async function moveToFree(from: Buffer, to: string, isDirectory: boolean): Promise<string> {
  for (let n = 0; ; n++) {
    const candidate = numberedName(to, n)
    if (isDirectory) {
      if (await exists(candidate)) continue
      await rename(from, candidate)
      return candidate
    }
    try {
      await link(from, candidate)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue
      throw err
    }
    await unlink(from)
    return candidate
  }
}

/**
 * Renames every entry under `dir` (subfolders too, but not the importer's own folders at the top) whose
 * name is not UTF-8; returns the new paths.
 */
export async function renameUndecodable(inputDir: string, dir: string, log: Logger): Promise<string[]> {
  const renamed: string[] = []
  let entries: import('node:fs').Dirent<Buffer>[]
  try {
    entries = await readdir(Buffer.from(dir), { withFileTypes: true, encoding: 'buffer' })
  } catch {
    return renamed
  }
  for (const e of entries) {
    const raw = e.name
    const readable = readableName(raw)
    let path = join(dir, raw.toString())
    if (readable !== undefined) {
      const from = Buffer.concat([Buffer.from(`${dir}/`), raw])
      try {
        path = await moveToFree(from, join(dir, readable), e.isDirectory())
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue // gone meanwhile
        log.error({ err, dir, name: raw.toString('hex') }, 'could not rename a file whose name is not UTF-8')
        continue
      }
      renamed.push(path)
      log.warn(
        { file: relative(inputDir, path), nameBytes: raw.toString('hex') },
        'a file name that is not UTF-8 was read as Windows-1252 and the file renamed, so that it can be imported',
      )
    }
    const top = dir === inputDir && (STATE_DIRS as readonly string[]).includes(raw.toString())
    if (e.isDirectory() && !top) renamed.push(...(await renameUndecodable(inputDir, path, log)))
  }
  return renamed
}
