// Where a dropped file lives while and after it is imported: processing/ -> processed/ or failed/.
// Subfolders are kept, and a name already taken gets a numbered suffix instead of overwriting.
import { lstat, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises'
import { basename, dirname, extname, join, relative, sep } from 'node:path'

export const STATE_DIRS = ['processing', 'processed', 'failed'] as const
export type StateDir = (typeof STATE_DIRS)[number]

const IGNORED_SUFFIXES = ['.tmp', '.part', '.crdownload']

/** Dotfiles, partial downloads and the importer's own folders and outputs are never imported. */
export function isIgnoredName(relPath: string): boolean {
  const parts = relPath.split(sep)
  if (STATE_DIRS.includes(parts[0] as StateDir)) return true
  const name = parts[parts.length - 1] ?? ''
  if (parts.some((p) => p.startsWith('.'))) return true
  // A `.rejected.csv` dropped into the folder is a repaired file: it is imported like any other.
  if (name.endsWith('.receipt.json')) return true
  return IGNORED_SUFFIXES.some((s) => name.toLowerCase().endsWith(s))
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path)
    return true
  } catch {
    return false
  }
}

/** The n-th name for a file whose name is taken: name.csv, then name-1.csv, name-2.csv, … */
export function numberedName(path: string, n: number): string {
  if (n === 0) return path
  const ext = extname(path)
  return `${path.slice(0, path.length - ext.length)}-${n}${ext}`
}

/** A free path for `rel` under `dir`, the first numberedName that neither it nor its outputs take. */
export async function uniquePath(dir: string, rel: string): Promise<string> {
  const target = join(dir, rel)
  for (let n = 0; ; n++) {
    const candidate = numberedName(target, n)
    // Outputs written beside the file must not collide either.
    if (!(await exists(candidate)) && !(await exists(`${candidate}.receipt.json`))) return candidate
  }
}

/** Moves `from` to a free name under inputDir/state/, keeping its subfolder; returns the new path. */
export async function moveTo(inputDir: string, state: StateDir, from: string, rel: string): Promise<string> {
  const to = await uniquePath(join(inputDir, state), rel)
  await mkdir(dirname(to), { recursive: true })
  await rename(from, to)
  return to
}

/** `x.rejected.csv` beside `x` is the importer's own output for `x`, not a file to import. */
function isOutputOf(name: string, siblings: Set<string>): boolean {
  return name.endsWith('.rejected.csv') && siblings.has(name.slice(0, -'.rejected.csv'.length))
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
    const names = new Set(entries.filter((e) => e.isFile()).map((e) => e.name))
    for (const e of entries) {
      const p = join(dir, e.name)
      if (e.isDirectory()) await walk(p)
      else if (e.isFile() && !isIgnoredName(basename(p)) && !isOutputOf(e.name, names)) {
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
      const receiptPath = `${candidate}.receipt.json`
      if (!(await exists(receiptPath))) break
      if (await exists(candidate)) continue
      const receipt = JSON.parse(await readFile(receiptPath, 'utf8')) as { sha256?: string }
      if (receipt.sha256 !== sha256) continue
      await rm(`${candidate}.rejected.csv`, { force: true })
      await rm(receiptPath, { force: true })
    }
  }
}
