// WEB_TRUST_PROXY: which peers' X-Forwarded-For and X-Forwarded-Proto the console believes. Those headers
// decide the address the login limit counts against and whether a request arrived over https (and so
// whether the session cookie is Secure); believed from anyone else, a client would choose both itself.
import { isIP } from 'node:net'

/** Fastify's trustProxy as the console uses it: nobody, every peer, or peers in these ranges. */
export type TrustProxy = boolean | string[]

/** Range names that @fastify/proxy-addr (Fastify's) expands itself. */
const NAMED_RANGES = ['loopback', 'linklocal', 'uniquelocal']

function isRange(entry: string): boolean {
  if (NAMED_RANGES.includes(entry)) return true
  const [address = '', prefix, ...rest] = entry.split('/')
  const family = isIP(address)
  if (family === 0 || rest.length > 0) return false
  if (prefix === undefined) return true
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128)
}

/**
 * Unset or false: no proxy. true: every peer is a proxy (only when nothing else can reach the console).
 * Otherwise a comma list of addresses, CIDR ranges and proxy-addr's names. A hop count is refused: Fastify
 * 5 ignores one (it cannot tell a proxy from a client that sends the headers), so it would trust nobody.
 */
export function parseTrustProxy(
  value: string | undefined,
): { trustProxy: TrustProxy; problem?: undefined } | { problem: string } {
  const v = value?.trim()
  if (v === undefined || v === '' || v.toLowerCase() === 'false') return { trustProxy: false }
  if (v.toLowerCase() === 'true') return { trustProxy: true }
  if (/^\d+$/.test(v)) {
    return {
      problem: `WEB_TRUST_PROXY must name the proxies' addresses (a hop count such as '${v}' is ignored by Fastify): true, or addresses and CIDR ranges, comma-separated`,
    }
  }
  const entries = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  const bad = entries.filter((e) => !isRange(e))
  if (bad.length > 0) {
    return {
      problem: `WEB_TRUST_PROXY must be true, false, or addresses and CIDR ranges (or loopback, linklocal, uniquelocal), comma-separated; not: ${bad.join(', ')}`,
    }
  }
  return { trustProxy: entries }
}
