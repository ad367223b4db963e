// The atomic-rename fast path against the real stack: a file written as a temporary and renamed to *.csv
// is taken at once; a file written in place waits out the settle time, here ten minutes.
import { copyFile, mkdtemp, readdir, readFile, rename } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Receipt } from '../ledger/input-folder.ts'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { type RunningImporter, startImporter } from './support/importer.ts'

const EXAMPLE = new URL('../examples/example.csv', import.meta.url)

describe('importer fast path', () => {
  let ctx: TestContext
  let running: RunningImporter
  let inputDir: string
  const seen = new Set<string>()

  beforeAll(async () => {
    inputDir = await mkdtemp(join(tmpdir(), 'stockflow-fast-'))
    ctx = await createTestContext('importer_fast', {
      INPUT_DIR: inputDir,
      IMPORT_SETTLE_MS: '600000',
      IMPORT_FORCE: 'true',
    })
    running = await startImporter(ctx, { hooks: { ignored: (p) => seen.add(p) } })
  })

  afterAll(async () => {
    await running.stop()
    await ctx.close()
  })

  it.each([
    ['a dotfile', '.renamed.csv'],
    ['a .tmp', 'renamed.csv.tmp'],
    ['a .part', 'renamed.part'],
  ])(
    'takes %s renamed to *.csv without the settle time, while a file written in place waits',
    async (_, temp) => {
      const name = `from-${temp.replace(/^\./, 'dot-').replace(/\./g, '-')}.csv`
      const inPlace = `in-place-${name}`
      await copyFile(EXAMPLE, join(inputDir, inPlace))
      await copyFile(EXAMPLE, join(inputDir, temp))
      // The watcher must have seen the temporary file before the rename, as it would a real writer's.
      await pollUntil('the watcher to come across it', async () => seen.has(join(inputDir, temp)), {
        timeoutMs: 10_000,
      })
      await rename(join(inputDir, temp), join(inputDir, name))
      const receipt: Receipt = await pollUntil(
        `receipt for ${name}`,
        async () =>
          JSON.parse(
            await readFile(join(inputDir, 'processed', `${name}.receipt.json`), 'utf8').catch(() => 'null'),
          ),
        { timeoutMs: 30_000 },
      )
      expect(receipt).toMatchObject({ status: 'processed', rows_read: 9, rows_accepted: 9 })
      // Written before the renamed file and still untouched: it settles for ten minutes.
      expect(await readdir(inputDir)).toContain(inPlace)
    },
  )
})
