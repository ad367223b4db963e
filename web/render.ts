// Server-side rendering through Eta, which escapes every `<%= %>` interpolation. Templates never build
// HTML from data by hand; the only raw output is the page body a layout wraps.
import { fileURLToPath } from 'node:url'
import { Eta } from 'eta'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { HIDDEN_ALL } from '../ledger/hidden-characters.ts'

const VIEWS = fileURLToPath(new URL('./views/', import.meta.url))

export const NAV = [
  { href: '/stock', label: 'Stock' },
  { href: '/balance', label: 'Balance' },
  { href: '/imports', label: 'Imports' },
  { href: '/errors', label: 'Errors' },
  { href: '/alerts', label: 'Alerts' },
  { href: '/pipeline', label: 'Pipeline' },
] as const

function writeOutInvisible(text: string): string {
  return text.replace(HIDDEN_ALL, (c) => `\\u{${c.codePointAt(0)!.toString(16).toUpperCase()}}`)
}

/** Formatting the templates share, so a number or a time reads the same on every page. */
export const helpers = {
  int: (n: number | bigint | null | undefined) =>
    n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'),
  time: (d: Date | string | null | undefined) => {
    if (d === null || d === undefined) return '–'
    const iso = (d instanceof Date ? d : new Date(d)).toISOString()
    return `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`
  },
  ms: (n: number | null | undefined) =>
    n === null || n === undefined ? '–' : `${Math.round(n).toLocaleString('en-US')} ms`,
  /**
   * Text as it may safely be shown: control, format and separator characters (a right-to-left override
   * that turns `gnp.csv` around, a zero-width space) are written out as \u{…}, so the text reads in the
   * order its characters are in. Used for anything that may carry a file name: alerts, flashes, errors.
   */
  plain: (text: string | null | undefined) => (text ? writeOutInvisible(text) : ''),
  /** A file name, written out as `plain` does; '–' when there is none. */
  file: (name: string | null | undefined) => (name ? writeOutInvisible(name) : '–'),
  /** An href with its query string; values are encoded here, and escaped again by the template. */
  href: (path: string, params: Record<string, string | number | undefined>) => {
    const q = new URLSearchParams()
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v))
    const s = q.toString()
    return s ? `${path}?${s}` : path
  },
}

export function createRenderer(opts: { cache: boolean }) {
  const eta = new Eta({ views: VIEWS, cache: opts.cache, autoEscape: true })
  return (template: string, data: Record<string, unknown>) => eta.render(template, data)
}

export type Renderer = ReturnType<typeof createRenderer>

export interface PageContext {
  title: string
  /** The signed-in name, shown in the header; undefined when the console needs no login. */
  user: string | undefined
  csrf: string
  flash: { kind: 'ok' | 'error'; text: string } | undefined
  path: string
}

declare module 'fastify' {
  interface FastifyReply {
    page(template: string, title: string, data?: Record<string, unknown>): Promise<FastifyReply>
  }
}

/** What every page gets besides its own data: navigation, the CSRF token for its forms, the flash message. */
export async function pageContext(
  req: FastifyRequest,
  reply: FastifyReply,
  title: string,
): Promise<PageContext> {
  const flash = req.session.get('flash') as PageContext['flash']
  if (flash) req.session.set('flash', undefined)
  return {
    title,
    user: req.session.get('user') as string | undefined,
    csrf: await reply.generateCsrf(),
    flash,
    path: req.url.split('?')[0] ?? '/',
  }
}

/** A message for the next page a redirect leads to. */
export function flash(req: FastifyRequest, kind: 'ok' | 'error', text: string): void {
  req.session.set('flash', { kind, text })
}
