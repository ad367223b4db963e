// The input folder's watcher: chokidar reports files as they appear or change, arrivals.ts decides when
// each is complete, and names that are not UTF-8 are handed to undecodable-names.ts to be renamed.
import { lstatSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { type FSWatcher, watch } from 'chokidar'
import { isIgnoredName } from '../ledger/input-folder.ts'
import type { Logger } from '../lib/log.ts'
import { type Arrivals, createArrivals } from './arrivals.ts'
import { renameUndecodable } from './undecodable-names.ts'

export interface FolderWatchDeps {
  inputDir: string
  settleMs: number
  /**
   * How often every file in the folder is reported again. File-system events can be missed (a file
   * renamed in while the watcher starts, an inotify queue overflow, a name that is not UTF-8 dropped while
   * another was being renamed): without this, such a file would wait for ever.
   */
  rescanMs?: number
  log: Logger
  /** A file is complete and may be taken. */
  ready: (path: string) => void
  /** The watcher came across a path it does not import (test seam). */
  ignored?: (path: string) => void
}

export interface FolderWatch {
  /** Looks at `path` again, as if the watcher had reported it (a new file under a name just imported). */
  arrived(path: string): void
  close(): Promise<void>
}

/**
 * Every file under `dir` the importer would take. The importer's own folders and dot-folders are not
 * entered (processed/ may hold years of files); names that are not UTF-8 are the renaming's to handle.
 */
async function filesToImport(inputDir: string, dir = inputDir): Promise<string[]> {
  const found: string[] = []
  let entries: import('node:fs').Dirent[]
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch {
    return found // gone meanwhile
  }
  for (const e of entries) {
    const path = join(dir, e.name)
    if (path.includes('\ufffd') || isIgnoredName(relative(inputDir, path))) continue
    if (e.isDirectory()) found.push(...(await filesToImport(inputDir, path)))
    else if (e.isFile()) found.push(path)
  }
  return found
}

function exists(path: string): boolean {
  try {
    lstatSync(path)
    return true
  } catch {
    return false
  }
}

/**
 * Starts watching. The handle is there at once (a file imported meanwhile may need `arrived`, and a stop may
 * come first); `ready` resolves once the files already there have been reported.
 */
export function watchFolder(deps: FolderWatchDeps): FolderWatch & { ready: Promise<void> } {
  const { inputDir, log } = deps
  // One scan at a time: two at once could both give one file a new name.
  let renaming = Promise.resolve()
  const renameLater = (dir: string) => {
    renaming = renaming
      .then(async () => {
        await renameUndecodable(inputDir, dir, log)
      })
      .catch((err) => log.error({ err, dir }, 'could not look for names that are not UTF-8'))
  }
  const arrivals: Arrivals = createArrivals({ settleMs: deps.settleMs, ready: deps.ready })
  let watcher: FSWatcher | undefined
  let closed = false
  let rescan: NodeJS.Timeout | undefined
  // A close before chokidar is ready ends the wait for it too.
  let release = () => {}
  const ready = (async () => {
    await renameUndecodable(inputDir, inputDir, log)
    if (closed) return
    const w = watch(inputDir, {
      ignoreInitial: false,
      followSymlinks: false,
      // A temporary file is not imported, but noted: renamed to *.csv, it is taken without settling.
      ignored: (p: string) => {
        if (p.includes('\ufffd') && !exists(p)) {
          // A name that is not UTF-8: it cannot be opened by the string Node made of it, only renamed by its
          // bytes. (A name that really holds U+FFFD opens, and is imported as it is.)
          const bad = p.slice(0, p.indexOf('\ufffd'))
          renameLater(dirname(`${bad}x`))
          return true
        }
        const ignore = p !== inputDir && isIgnoredName(relative(inputDir, p))
        if (ignore) {
          arrivals.sawTemporary(p)
          deps.ignored?.(p)
        }
        return ignore
      },
    })
    watcher = w
    w.on('add', (p) => arrivals.arrived(p))
    // chokidar reports a file deleted and written again under the same name within 100 ms as a change.
    w.on('change', (p) => arrivals.arrived(p))
    w.on('error', (err) => log.error({ err }, 'watcher error'))
    await new Promise<void>((resolve) => {
      release = resolve
      w.once('ready', () => resolve())
    })
    if (deps.rescanMs !== undefined && !closed) {
      rescan = setInterval(() => {
        renameLater(inputDir)
        renaming = renaming
          .then(async () => {
            for (const path of await filesToImport(inputDir)) arrivals.arrived(path)
          })
          .catch((err) => log.error({ err, inputDir }, 'could not look through the input folder'))
      }, deps.rescanMs)
      rescan.unref()
    }
  })()
  return {
    ready,
    arrived: (path) => arrivals.arrived(path),
    async close() {
      closed = true
      clearInterval(rescan)
      release()
      await watcher?.close()
      arrivals.close()
      await renaming
    },
  }
}
