// "Explain the stock": an item's ledger by business date, with its running balance, and the balance report
// (opening, in, out, closing per store and item over a period); each with a CSV export of all its rows.
import type { FastifyInstance } from 'fastify'
import { AppError } from '../lib/errors.ts'
import { EVENT_TYPES } from '../schemas/contract.ts'
import { balanceParams, parseBalanceQuery, periodWords } from './balance-query.ts'
import { exportName, exportQuery, filterWords, openCsv, refuseProblems, sendCsv } from './csv-export.ts'
import {
  balanceCsvCells,
  balanceCsvHeader,
  balancePage,
  balanceRows,
  itemKnown,
  LEDGER_CSV_HEADER,
  type LedgerScope,
  ledgerCsvCells,
  ledgerPage,
  ledgerRows,
  ledgerSummary,
} from './ledger-queries.ts'
import { ledgerParams, parseLedgerQuery, periodBounds } from './ledger-query.ts'
import { helpers } from './render.ts'
import { keyPart } from './stock-pages.ts'
import { paging } from './stock-query.ts'
import type { WebDeps } from './web-deps.ts'

type Input = Record<string, string | string[] | undefined>

/** A balance as the page shows it: a true minus sign, since a balance by date can be below zero. */
const signed = (n: number) => (n < 0 ? `−${helpers.int(-n)}` : helpers.int(n))

export async function registerLedgerPages(app: FastifyInstance, deps: WebDeps): Promise<void> {
  const { sql, config } = deps
  const size = config.web.pageSize

  async function scopeOf(params: unknown, query: Input) {
    const p = params as { store: string; item: string }
    const store = keyPart(p.store)
    const item = keyPart(p.item)
    const { value: q, problems } = parseLedgerQuery(query)
    if (!(await itemKnown(sql, store, item))) {
      throw new AppError('NOT_FOUND', `store ${store} has no item ${item}: nothing was ever booked for it`)
    }
    const scope: LedgerScope = { store, item, bounds: periodBounds(q), type: q.type }
    return { store, item, q, problems, scope }
  }

  app.get('/items/:store/:item/ledger', async (req, reply) => {
    const { store, item, q, problems, scope } = await scopeOf(req.params, req.query as Input)
    const summary = await ledgerSummary(sql, scope)
    const pg = paging(summary.shown, q.page, size)
    const rows = await ledgerPage(sql, scope, size, pg.offset)
    if (problems.length > 0) reply.code(400)
    const base = `/items/${store}/${item}/ledger`
    return reply.page('ledger', `Ledger · store ${store} · item ${item}`, {
      store,
      item,
      q,
      problems,
      rows,
      summary,
      signed,
      paging: pg,
      types: EVENT_TYPES,
      period: periodWords(q),
      csvLink: helpers.href(`${base}.csv`, ledgerParams(q, { page: 1 })),
      pageLink: (p: number) => helpers.href(base, ledgerParams(q, { page: p })),
    })
  })

  app.get('/items/:store/:item/ledger.csv', async (req, reply) => {
    const { store, item, q, problems, scope } = await scopeOf(req.params, exportQuery(req.query as Input))
    refuseProblems(problems)
    const body = await openCsv(LEDGER_CSV_HEADER, ledgerRows(sql, scope), ledgerCsvCells)
    return sendCsv(
      reply,
      exportName(['ledger-store', store, 'item', item, filterWords(ledgerParams(q, { page: 1 }))]),
      body,
    )
  })

  app.get('/balance', async (req, reply) => {
    const { value: q, problems } = parseBalanceQuery(req.query as Input)
    const bounds = periodBounds(q)
    const found = await balancePage(sql, q, bounds, size, q.page)
    const pg = paging(found.total, q.page, size)
    if (problems.length > 0) reply.code(400)
    return reply.page('balance', 'Balance', {
      q,
      problems,
      rows: found.rows,
      totals: found.totals,
      signed,
      paging: pg,
      period: periodWords(q),
      csvLink: helpers.href('/balance.csv', balanceParams(q, { page: 1 })),
      scopeLink: (by: 'store' | 'item') => helpers.href('/balance', balanceParams(q, { by, page: 1 })),
      pageLink: (p: number) => helpers.href('/balance', balanceParams(q, { page: p })),
    })
  })

  app.get('/balance.csv', async (req, reply) => {
    const { value: q, problems } = parseBalanceQuery(exportQuery(req.query as Input))
    refuseProblems(problems)
    const body = await openCsv(balanceCsvHeader(q), balanceRows(sql, q, periodBounds(q)), balanceCsvCells(q))
    return sendCsv(reply, exportName(['balance', filterWords(balanceParams(q, { page: 1 }))]), body)
  })
}
