// Errors: what went wrong after import (failed movements, conflicts, messages that never became movements),
// and re-drive: a preview of exactly what would be sent, then a confirmation that sends that and nothing
// else. Both run ledger/redrive.ts, the code behind `stockflow redrive`, and both are audited.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { type RedriveFilter, redrive } from '../ledger/redrive.ts'
import type { Sql } from '../lib/db.ts'
import { AppError } from '../lib/errors.ts'
import { actorOf } from './auth.ts'
import { previewRedrive } from './redrive-preview.ts'
import { flash, helpers } from './render.ts'
import { one, paging, parsePage } from './stock-query.ts'
import type { WebDeps } from './web-deps.ts'

type Input = Record<string, string | string[] | undefined>

/** The Errors page's filter, from a query string or a form: every field optional, numbers checked. */
export function parseErrorFilter(q: Input): { filter: RedriveFilter; problems: string[] } {
  const problems: string[] = []
  const filter: RedriveFilter = {}
  const code = one(q, 'code')?.trim()
  if (code) {
    if (/^[A-Z_]{1,40}$/.test(code)) filter.code = code
    else problems.push(`Code: '${code}' is not an error code`)
  }
  for (const key of ['store', 'item'] as const) {
    const v = one(q, key)?.trim()
    if (!v) continue
    if (/^\d{1,10}$/.test(v) && Number(v) <= 2_147_483_647) filter[key] = Number(v)
    else problems.push(`${key === 'store' ? 'Store' : 'Item'}: '${v}' is not a number`)
  }
  const file = one(q, 'file')?.trim()
  if (file) filter.file = file.slice(0, 1000)
  return { filter, problems }
}

/** The filter as query parameters, for links and for the hidden fields of the confirmation form. */
export function filterParams(f: RedriveFilter): Record<string, string> {
  const out: Record<string, string> = {}
  if (f.code) out.code = f.code
  if (f.store !== undefined) out.store = String(f.store)
  if (f.item !== undefined) out.item = String(f.item)
  if (f.file) out.file = f.file
  return out
}

async function listErrors(sql: Sql, f: RedriveFilter, page: number, size: number) {
  const where = sql`
    where true
      ${f.code ? sql`and code = ${f.code}` : sql``}
      ${f.store !== undefined ? sql`and store_number = ${f.store}` : sql``}
      ${f.item !== undefined ? sql`and item_number = ${f.item}` : sql``}
      ${f.file ? sql`and source_file = ${f.file}` : sql``}`
  const [[{ total }], codes] = (await Promise.all([
    sql`select count(*)::int as total from errored_movements ${where}`,
    sql`select code, count(*)::int as n from errored_movements group by code order by code`,
  ])) as unknown as [[{ total: number }], { code: string; n: number }[]]
  const pg = paging(total, page, size)
  const rows = await sql`
    select transaction_id::text, code, kind, store_number, item_number, quantity, attempts, failed_at, source_file,
           source_line
    from errored_movements ${where}
    order by failed_at desc, transaction_id
    limit ${size} offset ${pg.offset}`
  return { rows, codes, paging: pg }
}

export async function registerErrorPages(app: FastifyInstance, deps: WebDeps): Promise<void> {
  const { sql, config } = deps

  app.get('/errors', async (req, reply) => {
    const q = req.query as Input
    const { filter, problems } = parseErrorFilter(q)
    const page = parsePage(one(q, 'page'), problems)
    const found = await listErrors(sql, filter, page, config.web.pageSize)
    if (problems.length > 0) reply.code(400)
    return reply.page('errors', 'Errors', {
      ...found,
      filter,
      problems,
      canSend: deps.redriveSend !== undefined,
      pageLink: (p: number) =>
        helpers.href('/errors', { ...filterParams(filter), page: p === 1 ? undefined : p }),
    })
  })

  const formFilter = (req: FastifyRequest) => {
    const { filter, problems } = parseErrorFilter((req.body ?? {}) as Input)
    if (problems.length > 0) throw new AppError('WEB_INPUT', problems.join('; '))
    return filter
  }

  // A preview is a dry run, audited as one, exactly as `stockflow redrive --dry-run`; it lists the first rows
  // and foretells, per store and item, what will fail again.
  app.post('/errors/redrive/preview', { preHandler: app.csrfProtection }, async (req, reply) => {
    const filter = formFilter(req)
    const preview = await previewRedrive(sql, filter, actorOf(req))
    return reply.page('redrive-preview', 'Re-drive: preview', {
      ...preview,
      filter,
      params: filterParams(filter),
      canSend: deps.redriveSend !== undefined,
    })
  })

  app.post('/errors/redrive', { preHandler: app.csrfProtection }, async (req, reply) => {
    const filter = formFilter(req)
    const body = (req.body ?? {}) as Input
    const digest = one(body, 'digest') ?? ''
    const preview = one(body, 'preview') ?? ''
    if (!/^[0-9a-f]{64}$/.test(digest) || !/^\d{1,15}$/.test(preview)) {
      throw new AppError('WEB_INPUT', 'confirm a re-drive from its preview')
    }
    if (!deps.redriveSend)
      throw new AppError('WEB_INPUT', 'this console has no producer, so it can only preview')
    const result = await redrive({
      sql,
      send: deps.redriveSend,
      filter,
      dryRun: false,
      actor: actorOf(req),
      expectDigest: digest,
      previewId: Number(preview),
      log: deps.log,
    })
    req.log.info(
      { filter, count: result.count, redrive: result.auditId, actor: actorOf(req) },
      're-drive sent',
    )
    flash(
      req,
      'ok',
      `Re-drove ${result.count} movement(s) (re-drive #${result.auditId}). The processor applies them in a moment.`,
    )
    return reply.redirect(helpers.href('/errors', filterParams(filter)))
  })
}
