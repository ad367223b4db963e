// The hostile-input corpus through the real importer: every file ends visibly done, with exact outcomes.
import { copyFile, mkdir, mkdtemp, readdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Receipt } from '../ledger/input-folder.ts'
import { createTestContext, pollUntil, type TestContext } from './support/context.ts'
import { type RunningImporter, startImporter } from './support/importer.ts'

const CORPUS = new URL('./fixtures/bad/', import.meta.url).pathname
const HEADER = 'transaction_id,event_type,date,store_number,item_number,value'

interface Expected {
  state: 'processed' | 'failed'
  accepted?: number
  rejections?: [number, string][]
  error?: string
}

const EXPECTED: Record<string, Expected> = {
  'empty.csv': { state: 'failed', error: 'EMPTY_FILE' },
  'header-only.csv': { state: 'processed', accepted: 0, rejections: [] },
  'missing-column.csv': { state: 'failed', error: 'MISSING_COLUMNS' },
  'ambiguous-columns.csv': { state: 'failed', error: 'AMBIGUOUS_COLUMNS' },
  'reordered-columns.csv': { state: 'processed', accepted: 1, rejections: [] },
  'extra-columns.csv': { state: 'processed', accepted: 1, rejections: [] },
  'field-count.csv': {
    state: 'processed',
    accepted: 1,
    rejections: [
      [2, 'FIELD_COUNT'],
      [3, 'FIELD_COUNT'],
    ],
  },
  'unterminated-quote.csv': { state: 'processed', accepted: 1, rejections: [[2, 'UNTERMINATED_QUOTE']] },
  'embedded-newline.csv': { state: 'processed', accepted: 1, rejections: [[2, 'UNKNOWN_EVENT_TYPE']] },
  'mixed-crlf.csv': { state: 'processed', accepted: 3, rejections: [] },
  'bom.csv': { state: 'processed', accepted: 1, rejections: [] },
  'invalid-utf8.csv': { state: 'processed', accepted: 1, rejections: [[2, 'INVALID_ENCODING']] },
  'utf16.csv': { state: 'failed', error: 'UNSUPPORTED_ENCODING' },
  'quantities.csv': {
    state: 'processed',
    accepted: 0,
    rejections: [2, 3, 4, 5, 6, 7, 8].map((l) => [l, 'INVALID_QUANTITY'] as [number, string]),
  },
  'event-types.csv': { state: 'processed', accepted: 2, rejections: [[4, 'UNKNOWN_EVENT_TYPE']] },
  'blanks.csv': {
    state: 'processed',
    accepted: 0,
    rejections: [
      [2, 'BLANK_FIELD'],
      [3, 'BLANK_FIELD'],
      [4, 'BLANK_FIELD'],
    ],
  },
  'bad-uuid.csv': { state: 'processed', accepted: 0, rejections: [[2, 'INVALID_UUID']] },
  'dates.csv': {
    state: 'processed',
    accepted: 0,
    rejections: [
      [2, 'INVALID_DATE'],
      [3, 'INVALID_DATE'],
    ],
  },
  'repeated-id.csv': {
    state: 'processed',
    accepted: 1,
    rejections: [
      [3, 'DUPLICATE_IN_FILE'],
      [4, 'DUPLICATE_IN_FILE'],
    ],
  },
  'wrong-delimiter.csv': { state: 'failed', error: 'MISSING_COLUMNS' },
  'trailing-commas.csv': { state: 'processed', accepted: 0, rejections: [[2, 'FIELD_COUNT']] },
  'control-chars.csv': {
    state: 'processed',
    accepted: 0,
    rejections: [
      [2, 'CONTROL_CHARACTER'],
      [3, 'CONTROL_CHARACTER'],
    ],
  },
  'hyperlink.csv': { state: 'processed', accepted: 0, rejections: [[2, 'INVALID_QUANTITY']] },
  'name..with-dots.csv': { state: 'processed', accepted: 1, rejections: [] },
  'huge-field.csv': { state: 'processed', accepted: 1, rejections: [[2, 'ROW_TOO_LARGE']] },
  'larger-than-a-message.csv': { state: 'processed', accepted: 0, rejections: [[2, 'ROW_TOO_LARGE']] },
  'link.csv': { state: 'failed', error: 'SYMLINK' },
  'folder.csv/inside.csv': { state: 'processed', accepted: 1, rejections: [] },
}

describe('hostile-input corpus', () => {
  let ctx: TestContext
  let running: RunningImporter
  let input: string

  beforeAll(async () => {
    input = await mkdtemp(join(tmpdir(), 'stockflow-corpus-'))
    ctx = await createTestContext('corpus', { INPUT_DIR: input, IMPORT_SETTLE_MS: '100' })
    running = await startImporter(ctx)
  })
  afterAll(async () => {
    await running.stop()
    await ctx.close()
  })

  it('gives every file its exact outcome and leaves nothing in processing/', async () => {
    const staging = await mkdtemp(join(tmpdir(), 'stockflow-corpus-src-'))
    for (const f of await readdir(CORPUS)) await copyFile(join(CORPUS, f), join(staging, f))
    const valid = 'dddddddd-0000-4000-8000-000000000001,incoming,2020-01-01T00:00:00Z,1,1,5'
    // Generated here rather than committed: a 10 MB field, and a row bigger than the broker's 1 MB message limit.
    await writeFile(
      join(staging, 'huge-field.csv'),
      `${HEADER}\ndddddddd-0000-4000-8000-000000000002,incoming,2020-01-01T00:00:00Z,1,1,${'9'.repeat(10 * 1024 * 1024)}\n${valid}\n`,
    )
    await writeFile(
      join(staging, 'larger-than-a-message.csv'),
      `${HEADER}\n"${'x'.repeat(1200 * 1024)}",incoming,2020-01-01T00:00:00Z,1,1,5\n`,
    )
    for (const f of await readdir(staging)) await copyFile(join(staging, f), join(input, f))
    await symlink(join(CORPUS, 'bom.csv'), join(input, 'link.csv'))
    await mkdir(join(input, 'folder.csv'))
    await writeFile(
      join(input, 'folder.csv', 'inside.csv'),
      `${HEADER}\ndddddddd-0000-4000-8000-000000000003,incoming,2020-01-01T00:00:00Z,1,1,5\n`,
    )

    const receiptOf = async (state: string, name: string): Promise<Receipt | undefined> =>
      JSON.parse(await readFile(join(input, state, `${name}.receipt.json`), 'utf8').catch(() => 'null')) ??
      undefined
    const outcomes = await pollUntil(
      'a receipt for every file',
      async () => {
        const all = await Promise.all(
          Object.entries(EXPECTED).map(async ([name, e]) => [name, await receiptOf(e.state, name)] as const),
        )
        return all.every(([, r]) => r) ? all : undefined
      },
      { timeoutMs: 120_000 },
    )

    for (const [name, receipt] of outcomes) {
      const e = EXPECTED[name]!
      const got = {
        status: receipt!.status,
        accepted: e.accepted === undefined ? undefined : receipt!.rows_accepted,
        rejections: e.rejections === undefined ? undefined : receipt!.rejections.map((r) => [r.line, r.code]),
        error: receipt!.error?.code,
      }
      expect({ name, ...got }).toEqual({
        name,
        status: e.state,
        accepted: e.accepted,
        rejections: e.rejections,
        error: e.error,
      })
    }
    expect(await readdir(join(input, 'processing'))).toEqual([])
    const hyperlink = await readFile(join(input, 'processed', 'hyperlink.csv.rejected.csv'), 'utf8')
    expect(hyperlink).toContain(`"'=HYPERLINK(""http://x"",""y"")"`)
    expect(hyperlink).not.toMatch(/(^|,)=HYPERLINK/m)
  })
})
