import { describe, expect, it } from 'vitest'
import { parseTrustProxy } from './trust-proxy.ts'

describe('parseTrustProxy', () => {
  it('is off unless set, on for true, and otherwise a list of addresses and ranges', () => {
    expect([undefined, '', ' ', 'false', 'FALSE'].map(parseTrustProxy)).toEqual(
      Array(5).fill({ trustProxy: false }),
    )
    expect(parseTrustProxy('true')).toEqual({ trustProxy: true })
    expect(parseTrustProxy(' 10.0.0.7, 172.16.0.0/12,fd00::/8 ,::1,uniquelocal')).toEqual({
      trustProxy: ['10.0.0.7', '172.16.0.0/12', 'fd00::/8', '::1', 'uniquelocal'],
    })
  })

  it('refuses a hop count, which Fastify ignores, and names every entry it cannot use', () => {
    expect(parseTrustProxy('1')).toEqual({
      problem:
        "WEB_TRUST_PROXY must name the proxies' addresses (a hop count such as '1' is ignored by Fastify): true, or addresses and CIDR ranges, comma-separated",
    })
    expect(parseTrustProxy('10.0.0.1,proxy.local,10.0.0.0/33,::/129,1.2.3.4/8/8,yes')).toEqual({
      problem:
        'WEB_TRUST_PROXY must be true, false, or addresses and CIDR ranges (or loopback, linklocal, uniquelocal), comma-separated; not: proxy.local, 10.0.0.0/33, ::/129, 1.2.3.4/8/8, yes',
    })
  })
})
