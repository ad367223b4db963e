import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { type CsvRecord, MAX_LINES_PER_STEP, readRecords } from './read-records.ts'

async function read(input: string | Buffer, chunk = 7, maxRecordBytes = 1000): Promise<CsvRecord[]> {
  const buf = typeof input === 'string' ? Buffer.from(input) : input
  async function* source() {
    // Small chunks so that lines, quotes and the BOM straddle chunk boundaries.
    for (let i = 0; i < buf.length; i += chunk) yield buf.subarray(i, i + chunk)
  }
  const out: CsvRecord[] = []
  for await (const rs of readRecords(source(), { maxRecordBytes, maxRecordLines: 5 })) out.push(...rs)
  return out
}

const summary = (rs: CsvRecord[]) => rs.map((r) => (r.ok ? [r.line, ...r.fields] : [r.line, r.code]))

describe('readRecords', () => {
  it('handles BOM, CRLF, mixed endings, quotes, embedded newlines and a trailing blank line', async () => {
    const rs = await read('\ufeffa,b,c\r\n1,"x,y",3\n4,"multi\nline",6\r\n7,"say ""hi""",9\n\n')
    expect(summary(rs)).toEqual([
      [1, 'a', 'b', 'c'],
      [2, '1', 'x,y', '3'],
      [3, '4', 'multi\nline', '6'],
      [5, '7', 'say "hi"', '9'],
    ])
  })

  it('yields nothing for an empty input and only the header for a header-only file', async () => {
    expect(await read('')).toEqual([])
    expect(summary(await read('a,b\n'))).toEqual([[1, 'a', 'b']])
  })

  it('rejects a malformed quote on its own line and keeps reading', async () => {
    expect(summary(await read('a,b\n1,"x"y\n2,3\n'))).toEqual([
      [1, 'a', 'b'],
      [2, 'MALFORMED_QUOTES'],
      [3, '2', '3'],
    ])
  })

  it('rejects an unterminated quote at its line and re-reads the lines it swallowed', async () => {
    expect(summary(await read('a,b\n1,"open\n2,3\n4,5\n'))).toEqual([
      [1, 'a', 'b'],
      [2, 'UNTERMINATED_QUOTE'],
      [3, '2', '3'],
      [4, '4', '5'],
    ])
    // Past maxRecordLines the open quote is given up on even before the end of the file.
    const many = `a\n"open\n${Array.from({ length: 8 }, (_, i) => `r${i}`).join('\n')}\n`
    const rs = summary(await read(many))
    expect(rs[1]).toEqual([2, 'UNTERMINATED_QUOTE'])
    expect(rs.slice(2).map((r) => r[1])).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7'])
  })

  it('re-reads the lines between two stray quotes, so each is published or rejected on its own line', async () => {
    const csv = ['h,note', '1,12" pipe', '2,a', '3,b', '4,c', '5,6" nail', '6,d', ''].join('\n')
    expect(summary(await read(csv))).toEqual([
      [1, 'h', 'note'],
      [2, 'MALFORMED_QUOTES'],
      [3, '2', 'a'],
      [4, '3', 'b'],
      [5, '4', 'c'],
      [6, 'MALFORMED_QUOTES'],
      [7, '6', 'd'],
    ])
  })

  it('re-reads the lines swallowed by an open quote when an over-long line follows', async () => {
    const csv = `h,note\n1,12" pipe\n2,a\n3,${'x'.repeat(2000)}\n4,b\n`
    expect(summary(await read(csv))).toEqual([
      [1, 'h', 'note'],
      [2, 'MALFORMED_QUOTES'],
      [3, '2', 'a'],
      [4, 'ROW_TOO_LARGE'],
      [5, '4', 'b'],
    ])
  })

  it('accounts for every physical line once, whatever the quotes (random input)', async () => {
    let seed = 8675
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
      return (seed >>> 16) % n
    }
    const pieces = ['a', 'b,c', '"', '""', '"x"', ',', 'yy']
    for (let round = 0; round < 300; round++) {
      const lines = Array.from({ length: 1 + rand(12) }, () =>
        Array.from({ length: rand(4) }, () => pieces[rand(pieces.length)]).join(''),
      )
      const rs = await read(`${lines.join('\n')}\n`, 1 + rand(9))
      // A record that parsed spans the lines up to its next record; a rejection stands for its line alone.
      const covered = new Set<number>()
      for (const r of rs) {
        const span = r.ok ? r.raw.split('\n').length : 1
        for (let l = r.line; l < r.line + span; l++) {
          expect(covered.has(l), `line ${l} twice in ${JSON.stringify(lines)}`).toBe(false)
          covered.add(l)
        }
      }
      lines.forEach((text, i) => {
        if (text !== '')
          expect(covered.has(i + 1), `line ${i + 1} lost in ${JSON.stringify(lines)}`).toBe(true)
      })
    }
  })

  it('rejects invalid UTF-8, control characters and over-long rows by line', async () => {
    const bad = Buffer.concat([
      Buffer.from('a,b\n1,'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('\n2,x\u0000y\n3,4\n'),
    ])
    expect(summary(await read(bad))).toEqual([
      [1, 'a', 'b'],
      [2, 'INVALID_ENCODING'],
      [3, 'CONTROL_CHARACTER'],
      [4, '3', '4'],
    ])
    const long = `a,b\n1,${'z'.repeat(5000)}\n2,3\n`
    const rs = await read(long, 512, 100)
    expect(summary(rs)).toEqual([
      [1, 'a', 'b'],
      [2, 'ROW_TOO_LARGE'],
      [3, '2', '3'],
    ])
    expect(rs[1]?.raw.length).toBeLessThanOrEqual(200)
  })

  it('yields at most a bounded number of lines per step, however short the lines of a chunk are', async () => {
    // One 256 KB chunk of two-byte lines is 131,072 lines: all at once they held ~25 MB of objects.
    const chunk = Buffer.from(`a,b\n${'x\n'.repeat(131_072)}`)
    async function* source() {
      yield chunk
    }
    let records = 0
    let largest = 0
    for await (const rs of readRecords(source(), { maxRecordBytes: 1000 })) {
      records += rs.length
      largest = Math.max(largest, rs.length)
    }
    expect(records).toBe(131_073)
    expect(largest).toBe(MAX_LINES_PER_STEP)
  })

  it('keeps a quoted record whole when it spans the boundary between two steps', async () => {
    // Lines 2..1023 are plain, so the quoted field opens on the last line of the first step.
    const plain = Array.from({ length: MAX_LINES_PER_STEP - 2 }, (_, i) => `${i},x`).join('\n')
    const input = `a,b\n${plain}\n"open\nclosed",y\n9,z\n`
    async function* source() {
      yield Buffer.from(input)
    }
    const steps: CsvRecord[][] = []
    for await (const rs of readRecords(source(), { maxRecordBytes: 1000 })) steps.push(rs)
    expect(steps.map((rs) => rs.length)).toEqual([MAX_LINES_PER_STEP - 1, 2])
    expect(summary(steps[1]!)).toEqual([
      [MAX_LINES_PER_STEP, 'open\nclosed', 'y'],
      [MAX_LINES_PER_STEP + 2, '9', 'z'],
    ])
  })

  it('reads a megabyte of blank lines within a 16 MB heap', () => {
    // A run of blank lines made an array of 262,144 line objects per 256 KB chunk; under the importer's
    // 48 MB heap that was an out-of-memory crash, and the file was retried from the start on restart.
    const module = fileURLToPath(new URL('./read-records.ts', import.meta.url))
    const script = `
      const { readRecords } = await import(${JSON.stringify(module)})
      const blank = Buffer.alloc(256 * 1024, 0x0a)
      async function* source() {
        yield Buffer.from('a,b\\n')
        for (let i = 0; i < 4; i++) yield Buffer.from(blank)
        yield Buffer.from('1,2\\n')
      }
      const lines = []
      for await (const rs of readRecords(source(), { maxRecordBytes: 1000 })) for (const r of rs) lines.push(r.line)
      console.log(JSON.stringify(lines))
    `
    const run = spawnSync(
      process.execPath,
      ['--max-old-space-size=16', '--input-type=module', '-e', script],
      {
        encoding: 'utf8',
      },
    )
    expect(run.stderr).not.toMatch(/heap out of memory/)
    expect(run.status).toBe(0)
    expect(JSON.parse(run.stdout)).toEqual([1, 4 * 256 * 1024 + 2])
  })
})
