// Which names a file archived under a given name takes, and which other file could already own that name.
// An archive must always match its receipt: a name is free only when neither it nor anything derived
// from it is taken, and when it is not itself the output of another file kept in the same folder.
import { basename, dirname, join } from 'node:path'
import { type OutputSuffix, outputPath } from '../ledger/input-folder.ts'

const SUFFIXES: readonly OutputSuffix[] = ['.receipt.json', '.rejected.csv']

/** The file itself and every output the lifecycle writes beside it. */
export function namesOf(path: string): string[] {
  return [path, ...SUFFIXES.map((s) => outputPath(path, s))]
}

/**
 * The files whose output `path` would be, as far as the name tells: `a.csv.rejected.csv` belongs to
 * `a.csv`. A name shortened to fit 255 bytes carries a hash instead of its owner's full name; those are
 * found by isShortenedOutput and a look at the folder.
 */
export function ownersOf(path: string): string[] {
  const name = basename(path)
  const owners: string[] = []
  for (const suffix of SUFFIXES) {
    if (!name.endsWith(suffix) || name.length === suffix.length) continue
    const owner = join(dirname(path), name.slice(0, -suffix.length))
    if (outputPath(owner, suffix) === path) owners.push(owner)
  }
  return owners
}

const SHORTENED = /~[0-9a-f]{8}(\.receipt\.json|\.rejected\.csv)$/

/** Whether `path` could be the shortened output of a file whose name is near the 255-byte limit. */
export function isShortenedOutput(path: string): boolean {
  return SHORTENED.test(basename(path))
}

/**
 * The names that must all be absent for `candidate` to be given to a file: its own names, and each file
 * that would own it as an output together with that file's receipt (which stays when the file is gone).
 */
export function mustBeAbsent(candidate: string): string[] {
  const owners = ownersOf(candidate).flatMap((o) => [o, outputPath(o, '.receipt.json')])
  return [...namesOf(candidate), ...owners]
}

/** Whether one of the names in `folder` (the candidate's folder) has `candidate` as a shortened output. */
export function ownedInFolder(candidate: string, folder: readonly string[]): boolean {
  if (!isShortenedOutput(candidate)) return false
  const dir = dirname(candidate)
  return folder.some((n) => namesOf(join(dir, n)).slice(1).includes(candidate))
}
