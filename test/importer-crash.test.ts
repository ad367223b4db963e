// A crash at every step of a file's lifecycle (claimed, published, recorded, reported, receipted),
// followed by a restart, ends with the file's true receipt, its rejected rows and one content record.
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { LifecycleStep } from '../importer/importer.ts'
import type { Receipt } from '../ledger/input-folder.ts'
import { createTestContext, pollUntil } from './support/context.ts'
import { startImporter } from './support/importer.ts'
import { setupTopics } from './support/kafka.ts'

const FIXTURE = fileURLToPath(new URL('./fixtures/importer-crash.ts', import.meta.url))
const STEPS: LifecycleStep[] = ['claimed', 'published', 'recorded', 'reported', 'receipted']

function fileFor(step: string): string {
  const id = (n: number) =>
    `${String(STEPS.indexOf(step as LifecycleStep) + 1).padStart(8, '0')}-0000-4000-8000-00000000000${n}`
  return [
    'transaction_id,event_type,date,store_number,item_number,value',
    `${id(1)},incoming,2024-01-01T00:00:00Z,9,1,10`,
    'not-a-uuid,incoming,2024-01-01T00:00:00Z,9,1,10',
    `${id(2)},sale,2024-01-01T01:00:00Z,9,1,4`,
    `${id(3)},sale,2024-01-01T02:00:00Z,9,1,0`,
    `${id(4)},incoming,2024-01-01T03:00:00Z,9,2,7`,
  ].join('\n')
}

describe('importer crash at every step', () => {
  it.each(STEPS)(
    'killed after %s, then restarted: the true receipt, its rejected rows, one record',
    async (step) => {
      const dir = await mkdtemp(join(tmpdir(), `stockflow-crash-${step}-`))
      const ctx = await createTestContext(`crash_${step}`, { INPUT_DIR: dir, IMPORT_SETTLE_MS: '50' })
      try {
        await setupTopics(ctx)
        await writeFile(join(dir, 'store9.csv'), fileFor(step))
        const child = spawn(process.execPath, [FIXTURE, step], {
          env: { ...process.env, ...ctx.env },
          stdio: 'inherit',
        })
        const how = await new Promise<string | null>((resolve) =>
          child.once('exit', (_code, signal) => resolve(signal)),
        )
        expect(how).toBe('SIGKILL')

        const running = await startImporter(ctx)
        try {
          const receipt = await pollUntil(
            'the receipt after the restart',
            async () => {
              const files = await readdir(join(dir, 'processed'))
              if (!files.includes('store9.csv')) return undefined
              return JSON.parse(
                await readFile(join(dir, 'processed', 'store9.csv.receipt.json'), 'utf8'),
              ) as Receipt
            },
            { timeoutMs: 60_000 },
          )
          expect(receipt).toMatchObject({
            status: 'processed',
            rows_read: 5,
            rows_accepted: 3,
            rows_rejected: 2,
            duplicate_of: null,
            rejected_csv: 'store9.csv.rejected.csv',
            rejected_by_code: { INVALID_UUID: 1, INVALID_QUANTITY: 1 },
          })
          expect((await readdir(join(dir, 'processed'))).sort()).toEqual([
            'store9.csv',
            'store9.csv.receipt.json',
            'store9.csv.rejected.csv',
          ])
          expect(await readdir(join(dir, 'processing'))).toEqual([])
          const rejected = (await readFile(join(dir, 'processed', 'store9.csv.rejected.csv'), 'utf8'))
            .trim()
            .split('\n')
          expect(rejected).toHaveLength(3)
          const [records] =
            await ctx.sql`select count(*)::int as n from import_files where sha256 = ${receipt.sha256}`
          expect(records?.n).toBe(1)
          // One file, one outcome, naming where its rejected rows are, however often it was tried.
          const outcomes = await ctx.sql`
            select file_name, status, rows_rejected, rejected_csv from import_outcomes order by id`
          expect(outcomes).toEqual([
            {
              file_name: 'store9.csv',
              status: 'processed',
              rows_rejected: 2,
              rejected_csv: 'processed/store9.csv.rejected.csv',
            },
          ])
        } finally {
          await running.stop()
        }
      } finally {
        await ctx.close()
      }
    },
  )
})
