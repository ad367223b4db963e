// Streams a CSV file as logical records with line numbers, one array of records per chunk read: an
// async step per record (a promise and a suspended caller each) cost more than the parsing itself.
//
// Why not feed the whole stream to csv-parse: after a malformed quote a streaming CSV parser cannot know
// where the next record starts, and it either swallows the following lines into one bad record or stops.
// Here records are framed by quote parity over physical lines, so one bad line is rejected on its own and
// reading resumes at the next line. csv-parse still splits every record that contains quotes.
import { parse as parseSync } from 'csv-parse/sync'
import { clipText } from '../schemas/movement-rules.ts'

export type RecordProblem =
  | 'UNTERMINATED_QUOTE'
  | 'MALFORMED_QUOTES'
  | 'ROW_TOO_LARGE'
  | 'INVALID_ENCODING'
  | 'CONTROL_CHARACTER'

export type CsvRecord =
  | { ok: true; line: number; fields: string[]; raw: string }
  | { ok: false; line: number; code: RecordProblem; message: string; raw: string }

export interface ReadOptions {
  /** A physical line or a quoted record longer than this is rejected without being held in memory. */
  maxRecordBytes: number
  /** How many physical lines a quoted field may span before its opening quote is judged unterminated. */
  maxRecordLines?: number
}

/**
 * Lines handed on per step. A chunk of very short lines (a run of blank lines, say) would otherwise become
 * hundreds of thousands of line objects at once, and the heap holds the importer to a few tens of MB.
 */
export const MAX_LINES_PER_STEP = 1024

const NL = 0x0a
const QUOTE = 0x22
const utf8 = new TextDecoder('utf-8', { fatal: true })
// Tab is allowed inside fields; every other C0 control (NUL included) and DEL is not.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/
/** csv-parse quotes the offending field in its messages; a field can be megabytes long. */
const MAX_MESSAGE_CHARS = 200

interface PhysicalLine {
  line: number
  bytes: Buffer
  /** Set when the line was longer than allowed; bytes then holds only its start. */
  truncated: boolean
}

/**
 * Splits byte chunks on LF, an array of at most MAX_LINES_PER_STEP lines at a time. Lines longer than `max`
 * are cut and flagged instead of growing a buffer.
 */
async function* physicalLines(source: AsyncIterable<Buffer>, max: number): AsyncGenerator<PhysicalLine[]> {
  let parts: Buffer[] = []
  let size = 0
  let truncated = false
  let line = 1
  let first = true
  for await (let chunk of source) {
    if (first) {
      first = false
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3)
    }
    let lines: PhysicalLine[] = []
    let start = 0
    for (let nl = chunk.indexOf(NL, start); nl !== -1; nl = chunk.indexOf(NL, start)) {
      const piece = chunk.subarray(start, nl)
      if (!truncated) {
        if (size + piece.length > max) {
          parts.push(piece.subarray(0, Math.max(0, max - size)))
          truncated = true
        } else parts.push(piece)
      }
      const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts)
      lines.push({ line, bytes: stripCr(bytes), truncated })
      line++
      parts = []
      size = 0
      truncated = false
      start = nl + 1
      if (lines.length === MAX_LINES_PER_STEP) {
        yield lines
        lines = []
      }
    }
    const rest = chunk.subarray(start)
    if (!truncated && rest.length > 0) {
      if (size + rest.length > max) {
        parts.push(Buffer.from(rest.subarray(0, Math.max(0, max - size))))
        truncated = true
      } else {
        // Copy, so that a line's start does not keep its whole chunk alive. (Lines handed on, and those of an
        // open quoted record, stay views into their chunks: every source here gives a fresh buffer per read.)
        parts.push(Buffer.from(rest))
        size += rest.length
      }
    }
    if (lines.length > 0) yield lines
  }
  if (parts.length > 0 || truncated) {
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts)
    yield [{ line, bytes: stripCr(bytes), truncated }]
  }
}

function stripCr(b: Buffer): Buffer {
  return b.length > 0 && b[b.length - 1] === 0x0d ? b.subarray(0, b.length - 1) : b
}

function countQuotes(b: Buffer): number {
  let n = 0
  for (let i = b.indexOf(QUOTE); i !== -1; i = b.indexOf(QUOTE, i + 1)) n++
  return n
}

function preview(b: Buffer): string {
  return b.subarray(0, 200).toString('utf8')
}

/** A rejected line as text for the rejected-rows file: whole when it is valid UTF-8, else its start. */
function rawText(b: Buffer): string {
  try {
    return utf8.decode(b)
  } catch {
    return preview(b)
  }
}

/** Splits one complete record. Unquoted records take the fast path; quoted ones go through csv-parse. */
export function splitRecord(text: string): string[] {
  if (!text.includes('"')) return text.split(',')
  const rows = parseSync(text, { relax_column_count: true, record_delimiter: ['\r\n', '\n'] }) as string[][]
  if (rows.length !== 1) throw new Error(`expected one record, found ${rows.length}`)
  return rows[0]!
}

function toRecord(line: number, bytes: Buffer): CsvRecord {
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    return {
      ok: false,
      line,
      code: 'INVALID_ENCODING',
      message: 'row is not valid UTF-8',
      raw: preview(bytes),
    }
  }
  if (CONTROL.test(text)) {
    return {
      ok: false,
      line,
      code: 'CONTROL_CHARACTER',
      message: 'row contains a control character',
      raw: text,
    }
  }
  try {
    return { ok: true, line, fields: splitRecord(text), raw: text }
  } catch (err) {
    return { ok: false, line, code: 'MALFORMED_QUOTES', message: quoteProblem(err), raw: text }
  }
}

function quoteProblem(err: unknown): string {
  return clipText((err as Error).message.split('\n')[0]!, MAX_MESSAGE_CHARS)
}

/**
 * Why a line with an odd number of quotes cannot open a field that goes on on the next line, or undefined
 * when it can. A quote inside an unquoted field (`12" pipe`) is a typo, not the start of a multi-line
 * field: taken as one, it would join the lines up to the next stray quote into one bad record.
 */
function strayQuote(bytes: Buffer): string | undefined {
  try {
    parseSync(bytes, { relax_column_count: true })
  } catch (err) {
    if ((err as { code?: string }).code === 'CSV_QUOTE_NOT_CLOSED') return undefined
    return quoteProblem(err)
  }
  return undefined
}

/**
 * Yields the logical CSV records (blank lines are skipped), in order, an array at a time: each array holds
 * the records completed by up to MAX_LINES_PER_STEP physical lines of one chunk. Every physical line of
 * the input is accounted for: it is part of exactly one yielded record, valid or rejected.
 */
export async function* readRecords(
  source: AsyncIterable<Buffer>,
  opts: ReadOptions,
): AsyncGenerator<CsvRecord[]> {
  const maxLines = opts.maxRecordLines ?? 1000
  let pending: PhysicalLine[] = []
  let pendingBytes = 0
  let quotes = 0

  const reset = () => {
    pending = []
    pendingBytes = 0
    quotes = 0
  }

  // When a quoted record cannot be closed, its first line is rejected and the lines after it are read again.
  function rejectHead(out: CsvRecord[], code: RecordProblem, message: string): void {
    const [head, ...rest] = pending
    reset()
    if (!head) return
    out.push({ ok: false, line: head.line, code, message, raw: rawText(head.bytes) })
    for (const l of rest) accept(l, out)
  }

  function accept(l: PhysicalLine, out: CsvRecord[]): void {
    if (l.truncated) {
      // The lines of an open quoted record before an over-long line are read again, each on its own; the
      // long line itself is rejected either way.
      if (pending.length > 0) {
        pending.push(l)
        rejectHead(
          out,
          'UNTERMINATED_QUOTE',
          `a quoted field is not closed within ${opts.maxRecordBytes} bytes`,
        )
        return
      }
      out.push({
        ok: false,
        line: l.line,
        code: 'ROW_TOO_LARGE',
        message: `row is longer than ${opts.maxRecordBytes} bytes`,
        raw: preview(l.bytes),
      })
      return
    }
    if (pending.length === 0 && l.bytes.length === 0) return
    if (pending.length === 0 && !l.bytes.includes(QUOTE)) {
      // The common case: a line without quotes is a record by itself.
      out.push(toRecord(l.line, l.bytes))
      return
    }
    const lineQuotes = countQuotes(l.bytes)
    if (pending.length === 0 && lineQuotes % 2 === 1) {
      const stray = strayQuote(l.bytes)
      if (stray !== undefined) {
        out.push({ ok: false, line: l.line, code: 'MALFORMED_QUOTES', message: stray, raw: rawText(l.bytes) })
        return
      }
    }
    pending.push(l)
    pendingBytes += l.bytes.length + 1
    quotes += lineQuotes
    if (quotes % 2 === 0) {
      if (pending.length === 1) {
        reset()
        out.push(toRecord(l.line, l.bytes))
        return
      }
      const first = pending[0]!
      const joined = toRecord(
        first.line,
        Buffer.concat(pending.flatMap((p, i) => (i ? [Buffer.from('\n'), p.bytes] : [p.bytes]))),
      )
      // A record over several lines that does not parse says nothing about the lines after its first:
      // they are read again, so each is published or rejected under its own number.
      if (joined.ok) {
        reset()
        out.push(joined)
      } else
        rejectHead(
          out,
          joined.code,
          `the quoted field opened on this line does not close properly: ${joined.message}`,
        )
    } else if (pending.length >= maxLines || pendingBytes > opts.maxRecordBytes) {
      rejectHead(out, 'UNTERMINATED_QUOTE', 'a quoted field is never closed')
    }
  }

  for await (const lines of physicalLines(source, opts.maxRecordBytes)) {
    const out: CsvRecord[] = []
    for (const l of lines) accept(l, out)
    if (out.length > 0) yield out
  }
  const out: CsvRecord[] = []
  while (pending.length > 0) rejectHead(out, 'UNTERMINATED_QUOTE', 'a quoted field is never closed')
  if (out.length > 0) yield out
}
