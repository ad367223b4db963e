// What the input folder holds before an import ends: files waiting for the importer (dropped, not yet
// claimed) and files in processing/ (claimed, being imported, or left there by a crash to be taken again).
// The console's Pipeline page shows them; the walk is bounded, so a crowded folder costs a bounded read.
import type { Dirent } from 'node:fs'
import { lstat, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { isIgnoredName, outputsOf } from './input-folder.ts'

/** Directory entries read before the walk stops counting exactly. */
const MAX_ENTRIES = 20_000
const MAX_DEPTH = 8

/**
 * Of one processing/ folder's file names, the imported files, as the importer's recovery takes them
 * (importer/file-lifecycle.ts leftInProcessing): not the receipts and rejected rows beside them.
 */
export function importedInProcessing(names: string[]): string[] {
  const outputs = outputsOf(names)
  return names.filter((n) => !isIgnoredName(n) && !outputs.has(n))
}

export interface QueuedFile {
  /** Relative to the input folder (waiting) or to processing/ (being imported). */
  name: string
  bytes: number
  /** Waiting: since the file was last written. Processing: since it was moved there. */
  since: Date
}

export interface QueueList {
  files: QueuedFile[]
  /** Files found beyond the `limit` listed. */
  more: number
  /** The walk stopped at its bound: there may be more still. */
  partial: boolean
}

export interface InputQueue {
  waiting: QueueList
  processing: QueueList
}

async function walk(
  root: string,
  /** Of one folder's file names, those listed: asked once per folder. */
  keep: (names: string[], relDir: string) => Set<string>,
  skipDir: (rel: string) => boolean,
  sinceOf: (st: { mtime: Date; ctime: Date }) => Date,
  limit: number,
): Promise<QueueList> {
  const found: QueuedFile[] = []
  let seen = 0
  let partial = false
  async function visit(dir: string, rel: string, depth: number): Promise<void> {
    let entries: Dirent[]
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch {
      return
    }
    const listed = keep(
      entries.filter((e) => e.isFile()).map((e) => e.name),
      rel,
    )
    for (const e of entries) {
      if (++seen > MAX_ENTRIES) {
        partial = true
        return
      }
      const childRel = rel ? join(rel, e.name) : e.name
      if (e.isDirectory()) {
        if (depth < MAX_DEPTH && !skipDir(childRel)) await visit(join(dir, e.name), childRel, depth + 1)
        else if (depth >= MAX_DEPTH) partial = true
        continue
      }
      if (!e.isFile() || !listed.has(e.name)) continue
      try {
        const st = await lstat(join(dir, e.name))
        found.push({ name: childRel, bytes: st.size, since: sinceOf(st) })
      } catch {
        // Taken by the importer between the listing and the look: no longer waiting.
      }
    }
  }
  await visit(root, '', 0)
  // Longest waiting first: what an operator asks about.
  found.sort((a, b) => a.since.getTime() - b.since.getTime() || a.name.localeCompare(b.name))
  return { files: found.slice(0, limit), more: Math.max(0, found.length - limit), partial }
}

/** The files waiting in the input folder and those in processing/, the oldest `limit` of each. */
export async function listInputQueue(inputDir: string, limit = 100): Promise<InputQueue> {
  const [waiting, processing] = await Promise.all([
    walk(
      inputDir,
      (names, dir) => new Set(names.filter((n) => !isIgnoredName(dir ? join(dir, n) : n))),
      (rel) => isIgnoredName(join(rel, 'x')),
      (st) => st.mtime,
      limit,
    ),
    walk(
      join(inputDir, 'processing'),
      (names) => new Set(importedInProcessing(names)),
      () => false,
      // A rename changes the status time, not the modification time: ctime says when the claim happened.
      (st) => st.ctime,
      limit,
    ),
  ])
  return { waiting, processing }
}

/** An age people read at a glance: 42 s, 5 min, 3 h 20 min, 2 d 4 h. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min`
  const h = Math.floor(m / 60)
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`
  const d = Math.floor(h / 24)
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`
}

/** A size in bytes as people read it: 980 B, 3.1 MB, 12 KB (powers of 1,024; one decimal below 10). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KB', 'MB', 'GB', 'TB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`
}
