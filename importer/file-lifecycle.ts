// Where a dropped file lives while and after it is imported: processing/ -> processed/ or failed/.
// Subfolders are kept, and a name already taken gets a numbered suffix instead of overwriting.
import { lstat, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises'
import { basename, dirname, join, relative } from 'node:path'
import {
  isIgnoredName,
  numberedName,
  outputPath,
  outputsOf,
  STATE_DIRS,
  type StateDir,
} from '../ledger/input-folder.ts'
import { isShortenedOutput, mustBeAbsent, ownedInFolder } from './archive-names.ts'

/** Whether anything (a file, a folder, a dangling link) has this name. */
export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path)
    return true
  } catch {
    return false
  }
}

/**
 * A free path for `rel` under `dir`: the first numberedName that neither it nor its outputs take, and
 * that is not itself the output of a file already there (see archive-names.ts). The importer handles one
 * file at a time and is the only writer of processing/, processed/ and failed/, so the name cannot be
 * taken between this choice and the move.
 */
export async function uniquePath(dir: string, rel: string): Promise<string> {
  const target = join(dir, rel)
  for (let n = 0; ; n++) {
    const candidate = numberedName(target, n)
    if ((await Promise.all(mustBeAbsent(candidate).map(exists))).some(Boolean)) continue
    if (isShortenedOutput(candidate)) {
      const folder = await readdir(dirname(candidate)).catch(() => [])
      if (ownedInFolder(candidate, folder)) continue
    }
    return candidate
  }
}

/** Moves `from` to a free name under inputDir/state/, keeping its subfolder; returns the new path. */
export async function moveTo(inputDir: string, state: StateDir, from: string, rel: string): Promise<string> {
  const to = await uniquePath(join(inputDir, state), rel)
  await mkdir(dirname(to), { recursive: true })
  await rename(from, to)
  return to
}

/** Files left in processing/ by a crash, with their paths relative to processing/. */
export async function leftInProcessing(inputDir: string): Promise<{ path: string; rel: string }[]> {
  const root = join(inputDir, 'processing')
  const out: { path: string; rel: string }[] = []
  async function walk(dir: string) {
    let entries: import('node:fs').Dirent[]
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch {
      return
    }
    const outputs = outputsOf(entries.filter((e) => e.isFile()).map((e) => e.name))
    for (const e of entries) {
      const p = join(dir, e.name)
      if (e.isDirectory()) await walk(p)
      else if (e.isFile() && !isIgnoredName(basename(p)) && !outputs.has(e.name)) {
        out.push({ path: p, rel: relative(root, p) })
      }
    }
  }
  await walk(root)
  return out.sort((a, b) => a.rel.localeCompare(b.rel))
}

export async function ensureStateDirs(inputDir: string): Promise<void> {
  await mkdir(inputDir, { recursive: true })
  await Promise.all(STATE_DIRS.map((d) => mkdir(join(inputDir, d), { recursive: true })))
}

/**
 * A run that died after writing a file's receipt (and rejected rows) but before moving the file leaves
 * them behind without it. Before the file is imported again they go, so it ends with one receipt, its own.
 * Only outputs of the same content (sha256) whose file is absent are removed.
 */
export async function removeOrphanOutputs(inputDir: string, rel: string, sha256: string): Promise<void> {
  for (const state of ['processed', 'failed'] as const) {
    const target = join(inputDir, state, rel)
    for (let n = 0; ; n++) {
      const candidate = numberedName(target, n)
      const receiptPath = outputPath(candidate, '.receipt.json')
      if (!(await exists(receiptPath))) break
      if (await exists(candidate)) continue
      const receipt = JSON.parse(await readFile(receiptPath, 'utf8')) as { sha256?: string }
      if (receipt.sha256 !== sha256) continue
      await rm(outputPath(candidate, '.rejected.csv'), { force: true })
      await rm(receiptPath, { force: true })
    }
  }
}
