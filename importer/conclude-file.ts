// How a claimed file ends: its outcome recorded, its receipt and rejected rows written beside it in
// processed/ or failed/, then the file itself moved there. Each step is safe to repeat after a crash.
import { mkdir, rename, rmdir, unlink } from 'node:fs/promises'
import { basename, dirname, join, relative } from 'node:path'
import type { Receipt } from '../ledger/input-folder.ts'
import { outputPath } from '../ledger/input-folder.ts'
import type { Logger } from '../lib/log.ts'
import { type AdmittedFile, copyOut, stillAt } from './admitted-file.ts'
import { uniquePath } from './file-lifecycle.ts'
import { claimKeyOf, type OutcomeDeps, reportOutcome } from './outcomes.ts'
import { writeReceipt } from './receipt.ts'

/** The points between which a crash must leave a file recoverable: claimed, published, recorded, reported, receipted. */
export type LifecycleStep = 'claimed' | 'published' | 'recorded' | 'reported' | 'receipted'

export interface ConcludeDeps {
  inputDir: string
  outcomes: OutcomeDeps
  log: Logger
  step?: (step: LifecycleStep, rel: string) => Promise<void>
}

export function createConcluder(deps: ConcludeDeps) {
  const { inputDir, outcomes, log } = deps

  /**
   * Records the file's outcome, then writes its receipt and moves it. Where the file will end is decided
   * first, so that the outcome (and the alert made from it) names the archive its rejected rows go to.
   */
  async function conclude(
    file: AdmittedFile,
    path: string,
    rel: string,
    state: 'processed' | 'failed',
    receipt: Receipt,
    rejected?: string,
  ) {
    const dest = await uniquePath(join(inputDir, state), rel)
    const archived = receipt.rejected_csv && rejected ? outputPath(dest, '.rejected.csv') : undefined
    await reportOutcome(outcomes, receipt, {
      key: await claimKeyOf(file, receipt.sha256),
      rejectedCsv: archived ? relative(inputDir, archived) : null,
    })
    await deps.step?.('reported', rel)
    await finishFile(
      file,
      path,
      rel,
      dest,
      receipt,
      rejected && archived ? { from: rejected, to: archived } : undefined,
    )
  }

  /** Writes the receipt (and rejected rows) into the destination first, then moves the file itself. */
  async function finishFile(
    file: AdmittedFile,
    path: string,
    rel: string,
    dest: string,
    receipt: Receipt,
    rejected?: { from: string; to: string },
  ) {
    await mkdir(dirname(dest), { recursive: true })
    if (rejected) {
      await rename(rejected.from, rejected.to)
      receipt.rejected_csv = basename(rejected.to)
    }
    await writeReceipt(outputPath(dest, '.receipt.json'), receipt)
    await deps.step?.('receipted', rel)
    if (await stillAt(path, file)) await rename(path, dest)
    else {
      // The name was swapped after the file was admitted: keep what was actually imported, drop the impostor.
      await copyOut(file, dest)
      await unlink(path).catch(() => {})
      log.warn({ file: rel }, 'the file was replaced while it was imported; kept the admitted content')
    }
    // Subfolders made in processing/ for this file go once they are empty, so processing/ shows only work in flight.
    const root = join(inputDir, 'processing')
    for (let dir = dirname(path); dir.startsWith(`${root}/`); dir = dirname(dir)) {
      if (
        !(await rmdir(dir).then(
          () => true,
          () => false,
        ))
      )
        break
    }
  }

  return { conclude }
}
