// Undoing an imported file from its page: a preview of what `stockflow revert` would do, then a
// confirmation that publishes exactly what the preview showed. Both run ledger/revert.ts, as the CLI does.
import type { FastifyInstance } from 'fastify'
import { planDigest, revert } from '../ledger/revert.ts'
import { AppError } from '../lib/errors.ts'
import { actorOf } from './auth.ts'
import { flash } from './render.ts'
import { keyPart } from './stock-pages.ts'
import { one } from './stock-query.ts'
import type { WebDeps } from './web-deps.ts'

/** Items listed on a preview; the counts cover all of them. */
const PREVIEW_ITEMS = 200

export async function registerRevertPages(app: FastifyInstance, deps: WebDeps): Promise<void> {
  const { sql } = deps

  async function importOf(id: string) {
    const [row] = await sql`
      select id, file_name, sha256, status from import_history where id = ${keyPart(id)}`
    if (!row) throw new AppError('NOT_FOUND', `there is no import #${id}`)
    if (row.status !== 'processed' || !row.sha256) {
      throw new AppError(
        'WEB_INPUT',
        `import #${row.id} published nothing (${row.status}), so there is nothing to revert`,
      )
    }
    return row as { id: number; file_name: string; sha256: string }
  }

  app.post('/imports/:id/revert/preview', { preHandler: app.csrfProtection }, async (req, reply) => {
    const row = await importOf((req.params as { id: string }).id)
    const plan = await revert({
      sql,
      send: undefined,
      selector: { sha256: row.sha256 },
      dryRun: true,
      actor: actorOf(req),
    })
    return reply.page('revert-preview', `Revert ${row.file_name}: preview`, {
      row,
      plan,
      items: plan.items.slice(0, PREVIEW_ITEMS),
      digest: planDigest(plan),
      canSend: deps.revertSend !== undefined,
    })
  })

  app.post('/imports/:id/revert', { preHandler: app.csrfProtection }, async (req, reply) => {
    const row = await importOf((req.params as { id: string }).id)
    const digest = one((req.body ?? {}) as Record<string, string>, 'digest') ?? ''
    if (!/^[0-9a-f]{64}$/.test(digest)) throw new AppError('WEB_INPUT', 'confirm a revert from its preview')
    if (!deps.revertSend)
      throw new AppError('WEB_INPUT', 'this console has no producer, so it can only preview')
    const result = await revert({
      sql,
      send: deps.revertSend,
      selector: { sha256: row.sha256 },
      dryRun: false,
      actor: actorOf(req),
      expectDigest: digest,
    })
    req.log.info(
      {
        import: row.id,
        file: row.file_name,
        reversals: result.sent,
        revert: result.auditId,
        actor: actorOf(req),
      },
      'file reverted',
    )
    flash(
      req,
      'ok',
      result.sent === 0
        ? `Nothing left to revert in ${row.file_name}.`
        : `Published ${result.sent} reversal(s) for ${row.file_name} (revert #${result.auditId}). The processor applies them in a moment.`,
    )
    return reply.redirect(`/imports/${row.id}`)
  })
}
