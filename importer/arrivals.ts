// When a dropped file is complete, and so may be taken.
//
// A writer that follows the atomic-rename convention (writes `x.csv.tmp`, `x.part` or a dotfile, then
// renames it to `x.csv`) hands over a file that is already whole: it is taken at once, which is the fast
// path for small files. Such a file is recognised by identity, not by name: the temporary file's device,
// inode and birth time, noted when the watcher first saw it, are the same under the new name, and a new
// file that happens to reuse the inode has another birth time. Any other file is written in place, and
// is taken once its size and modification time have stayed the same for the settle time.
import { type BigIntStats, lstatSync } from 'node:fs'
import { basename } from 'node:path'

const TEMPORARY_SUFFIXES = ['.tmp', '.part', '.crdownload']
/** A temporary file not renamed within this long is forgotten (it was deleted, or is still written). */
const REMEMBER_MS = 3600_000
/** At most this many temporary files are remembered; the oldest go first. */
const REMEMBER_MAX = 10_000

/** Names that writers use for a file they will rename when it is complete. */
export function isTemporaryName(path: string): boolean {
  const name = basename(path)
  return name.startsWith('.') || TEMPORARY_SUFFIXES.some((s) => name.toLowerCase().endsWith(s))
}

export interface Identity {
  dev: bigint
  ino: bigint
  /** In nanoseconds: a new file that reuses a freed inode at once still has another birth time. */
  birthtimeNs: bigint
}

const keyOf = (s: Identity) => `${s.dev}:${s.ino}`

/**
 * The identity to remember, or none: where the file system gives no birth time to tell inodes apart, or
 * where the file has a second name (a hard link), through which it may still be written.
 */
export function identityOf(
  s: Pick<BigIntStats, 'dev' | 'ino' | 'birthtimeNs' | 'nlink'>,
): Identity | undefined {
  return s.birthtimeNs > 0n && s.nlink === 1n
    ? { dev: s.dev, ino: s.ino, birthtimeNs: s.birthtimeNs }
    : undefined
}

export interface ArrivalsOptions {
  settleMs: number
  /** How often a file written in place is looked at while it settles. */
  pollMs?: number
  /** Called once per arrival, when the file is complete. */
  ready: (path: string) => void
  now?: () => number
}

export interface Arrivals {
  /** The watcher came across a path it does not import; a temporary file's identity is noted. */
  sawTemporary(path: string): void
  /** A file to import appeared or changed. */
  arrived(path: string): void
  /** Stops watching the files that are still settling. */
  close(): void
}

export function createArrivals(opts: ArrivalsOptions): Arrivals {
  const now = opts.now ?? Date.now
  const temporaries = new Map<string, Identity & { seenAt: number }>()
  const settling = new Map<
    string,
    { timer: NodeJS.Timeout; ino: bigint; size: bigint; mtimeNs: bigint; since: number }
  >()
  const pollMs = opts.pollMs ?? Math.max(10, Math.min(100, opts.settleMs))

  const stat = (path: string) => {
    try {
      return lstatSync(path, { bigint: true })
    } catch {
      return undefined // gone already
    }
  }

  function renamedTemporary(s: BigIntStats): boolean {
    const id = identityOf(s)
    const seen = id && temporaries.get(keyOf(id))
    if (!id || !seen || seen.birthtimeNs !== id.birthtimeNs) return false
    temporaries.delete(keyOf(id))
    return true
  }

  /** Oldest first (a refreshed entry is deleted and set again), so the sweep stops at the first young one. */
  function forgetOld(at: number) {
    for (const [k, t] of temporaries) {
      if (at - t.seenAt <= REMEMBER_MS && temporaries.size <= REMEMBER_MAX) break
      temporaries.delete(k)
    }
  }

  function settle(path: string) {
    const s = stat(path)
    const entry = settling.get(path)
    // Gone, or a folder now: nothing to take (a new file there comes as a new event).
    if (!s || !entry || s.isDirectory()) {
      if (entry) clearTimeout(entry.timer)
      settling.delete(path)
      return
    }
    if (s.ino !== entry.ino || s.size !== entry.size || s.mtimeNs !== entry.mtimeNs) {
      entry.ino = s.ino
      entry.size = s.size
      entry.mtimeNs = s.mtimeNs
      entry.since = now()
    } else if (now() - entry.since >= opts.settleMs) {
      settling.delete(path)
      opts.ready(path)
      return
    }
    entry.timer = setTimeout(() => settle(path), pollMs)
  }

  return {
    sawTemporary(path) {
      if (!isTemporaryName(path)) return
      const s = stat(path)
      const id = s?.isFile() ? identityOf(s) : undefined
      if (!id) return
      const at = now()
      temporaries.delete(keyOf(id))
      temporaries.set(keyOf(id), { ...id, seenAt: at })
      forgetOld(at)
    },
    arrived(path) {
      const s = stat(path)
      if (!s || s.isDirectory()) return
      if (opts.settleMs === 0 || (s.isFile() && renamedTemporary(s))) {
        const waiting = settling.get(path)
        if (waiting) clearTimeout(waiting.timer)
        settling.delete(path)
        opts.ready(path)
        return
      }
      if (settling.has(path)) return // already watched; settle() sees the change itself
      const entry = {
        timer: setTimeout(() => settle(path), pollMs),
        ino: s.ino,
        size: s.size,
        mtimeNs: s.mtimeNs,
        since: now(),
      }
      settling.set(path, entry)
    },
    close() {
      for (const { timer } of settling.values()) clearTimeout(timer)
      settling.clear()
      temporaries.clear()
    },
  }
}
