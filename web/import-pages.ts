// Imports: every finished file with its counts, its receipt and rejected rows, and uploads from the browser,
// which land in the input folder exactly as a dropped file does, for the importer to take.

import { basename } from 'node:path'
import { create as attachment } from 'content-disposition'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { outputPath } from '../ledger/input-folder.ts'
import { AppError } from '../lib/errors.ts'
import { findReceipt, openDownload, placeUpload, readRejectedRows } from './input-files.ts'
import { dataColumns, rejectedRowView } from './rejected-rows.ts'
import { flash } from './render.ts'
import { keyPart } from './stock-pages.ts'
import { one, paging, parsePage } from './stock-query.ts'
import type { WebDeps } from './web-deps.ts'

/** Rejected rows shown per page of a receipt. */
const REJECTED_PAGE = 100
/** Pages of rejected rows the console reads through; beyond them, the download has the rest. */
const REJECTED_MAX_PAGE = 100

export async function registerImportPages(app: FastifyInstance, deps: WebDeps): Promise<void> {
  const { sql, config } = deps
  const inputDir = config.importer.inputDir
  const size = config.web.pageSize

  async function outcome(id: string) {
    const [row] = await sql`
      select id, file_name, sha256, status, code, message, rows_read, rows_accepted, rows_rejected, rejected_by_code,
             started_at, finished_at, recorded_at, reverted_at, kind
      from import_history where id = ${keyPart(id)}`
    if (!row) throw new AppError('NOT_FOUND', `there is no import #${id}`)
    return row
  }

  async function receiptOf(req: FastifyRequest) {
    const row = await outcome((req.params as { id: string }).id)
    const found = await findReceipt(inputDir, {
      file_name: row.file_name as string,
      sha256: row.sha256 as string | null,
      status: row.status as string,
      started_at: row.started_at as Date,
    })
    return { row, found }
  }

  app.get('/imports', async (req, reply) => {
    const problems: string[] = []
    const page = parsePage(one(req.query as Record<string, string>, 'page'), problems)
    const [{ total }] = (await sql`select count(*)::int as total from import_history`) as unknown as [
      { total: number },
    ]
    const pg = paging(total, page, size)
    const rows = await sql`
      select id, file_name, status, code, message, rows_read, rows_accepted, rows_rejected,
             extract(epoch from finished_at - started_at) * 1000 as duration_ms, finished_at
      from import_history order by recorded_at desc, id desc limit ${size} offset ${pg.offset}`
    return reply.page('imports', 'Imports', {
      rows,
      paging: pg,
      problems,
      maxBytes: config.importer.maxFileBytes,
      pageLink: (p: number) => (p === 1 ? '/imports' : `/imports?page=${p}`),
    })
  })

  app.get('/imports/:id', async (req, reply) => {
    const { row, found } = await receiptOf(req)
    const problems: string[] = []
    const page = parsePage(one(req.query as Record<string, string>, 'page'), problems)
    if (page > REJECTED_MAX_PAGE) {
      throw new AppError(
        'WEB_INPUT',
        `the console shows the first ${REJECTED_MAX_PAGE * REJECTED_PAGE} rejected rows; download the file for the rest`,
      )
    }
    const offset = (page - 1) * REJECTED_PAGE
    const read =
      found?.rejectedPath !== undefined
        ? await readRejectedRows(found.rejectedPath, offset, REJECTED_PAGE).catch(() => undefined)
        : undefined
    // The receipt lists the first rejections in the order the rejected rows were written: their lines.
    const listed = found?.receipt.rejections ?? []
    const rejected = read && {
      columns: dataColumns(read.header),
      rows: read.rows.map((r, i) => rejectedRowView(read.header, r, listed[offset + i]?.line)),
      more: read.more,
      linesListed: listed.length,
    }
    const reverts = row.sha256
      ? await sql`
          select id, actor, requested_at, reversals_sent, withdrawn, finished_at from import_reverts
          where sha256 = ${row.sha256} order by id desc limit 10`
      : []
    return reply.page('import', `Import #${row.id}`, {
      row,
      reverts,
      // An item file published no movement: there is nothing to revert.
      canRevert: row.status === 'processed' && row.sha256 !== null && row.kind !== 'items',
      receipt: found?.receipt,
      rejected,
      page,
      problems,
      rejectedPageSize: REJECTED_PAGE,
    })
  })

  async function download(req: FastifyRequest, reply: FastifyReply, which: 'receipt' | 'rejected') {
    const { found } = await receiptOf(req)
    const path = which === 'receipt' ? found && outputPath(found.path, '.receipt.json') : found?.rejectedPath
    if (!path)
      throw new AppError(
        'NOT_FOUND',
        `this import has no ${which === 'receipt' ? 'receipt' : 'rejected rows'} on disk`,
      )
    const file = await openDownload(path).catch(() => {
      throw new AppError('NOT_FOUND', `${basename(path)} is no longer in the input folder`)
    })
    return reply
      .type(which === 'receipt' ? 'application/json' : 'text/csv; charset=utf-8')
      .header('content-length', file.size)
      .header('content-disposition', attachment(basename(path)))
      .send(file.stream)
  }
  app.get('/imports/:id/receipt.json', (req, reply) => download(req, reply, 'receipt'))
  app.get('/imports/:id/rejected.csv', (req, reply) => download(req, reply, 'rejected'))

  app.post('/imports/upload', async (req, reply) => {
    if (!req.isMultipart()) throw new AppError('WEB_INPUT', 'send the file from the upload form')
    const parts = req.parts()
    // Browsers send fields in form order: the token comes first, so nothing is written before it is checked.
    const first = await parts.next()
    const token =
      !first.done && first.value.type === 'field' && first.value.fieldname === '_csrf'
        ? first.value.value
        : ''
    req.headers['x-csrf-token'] = String(token)
    // The check either passes at once or has already answered 403 through the error handler.
    let passed = false
    app.csrfProtection(req, reply, () => {
      passed = true
    })
    if (!passed) return reply
    for await (const part of parts) {
      if (part.type !== 'file' || part.fieldname !== 'file') continue
      if (!part.filename) throw new AppError('WEB_INPUT', 'choose a CSV file to upload')
      const rel = await placeUpload(inputDir, part.filename, part.file, config.importer.maxFileBytes)
      req.log.info({ file: rel, user: req.session.get('user') }, 'file uploaded from the console')
      flash(req, 'ok', `Uploaded as ${rel}. The importer takes it now; it appears below once imported.`)
      return reply.redirect('/imports')
    }
    throw new AppError('WEB_INPUT', 'choose a CSV file to upload')
  })
}
