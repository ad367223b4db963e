// File names that are not UTF-8, e.g. `Lager_Müller.csv` written by a Windows-1252 system (ü is the
// single byte 0xfc). Node decodes such a name with U+FFFD in place of the bad bytes, and every later open
// of that string fails with ENOENT: the file would be ignored for ever. Read as bytes, the name is given
// the readable name it was meant to have, and the watcher then imports it like any other file.
import { lstat, readdir, rename } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { numberedName } from '../ledger/input-folder.ts'
import type { Logger } from '../lib/log.ts'
import { STATE_DIRS } from './file-lifecycle.ts'

const utf8 = new TextDecoder('utf-8', { fatal: true })
// Legacy Windows and old Unix systems write names in Windows-1252 (a superset of Latin-1's letters).
const cp1252 = new TextDecoder('windows-1252')

/** The name to give a file whose name is not UTF-8, or undefined when it is UTF-8 already. */
export function readableName(name: Buffer): string | undefined {
  try {
    utf8.decode(name)
    return undefined
  } catch {
    return cp1252.decode(name).replaceAll('/', '_')
  }
}

async function free(path: string): Promise<string> {
  for (let n = 0; ; n++) {
    const candidate = numberedName(path, n)
    if (
      !(await lstat(candidate).then(
        () => true,
        () => false,
      ))
    )
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
      path = await free(join(dir, readable))
      try {
        await rename(Buffer.concat([Buffer.from(`${dir}/`), raw]), path)
      } catch (err) {
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
