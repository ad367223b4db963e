import { describe, expect, it } from 'vitest'
import { loadConfig } from '../lib/config.ts'
import { allowedHosts, cleanName, hostnameOf, isForeign, passwordMatches, safeNext } from './auth.ts'

const base = {
  KAFKA_BROKERS: '127.0.0.1:9092',
  SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081',
  DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db',
}

import { filterParams, parseErrorFilter } from './error-pages.ts'
import { parseThreshold } from './stock-pages.ts'

describe('safeNext', () => {
  it('returns to a path on this console only', () => {
    expect(safeNext('/items/5/12?page=2')).toBe('/items/5/12?page=2')
    expect(
      ['//evil.example/', '/\\evil.example', 'https://evil.example', 'javascript:alert(1)', 7].map(safeNext),
    ).toEqual(['/stock', '/stock', '/stock', '/stock', '/stock'])
  })
})

describe('cleanName', () => {
  it('keeps a plain name, trimmed and with single spaces', () => {
    expect(cleanName('  Ann   Lee \t')).toBe('Ann Lee')
    expect(cleanName('Zoë Ødegård')).toBe('Zoë Ødegård')
  })
  it('drops markup, control and format characters', () => {
    expect(cleanName('<b>Ann</b><script>x</script>')).toBe('Annx')
    expect(cleanName('Ann"\'`&<>')).toBe('Ann')
    expect(cleanName('Ann\u202egnp.csv')).toBe('Anngnp.csv')
    expect(cleanName('A\u0000n\u0007n\u200b\u2028')).toBe('Ann')
    // The audit writes web:<name>@<address>: a name cannot bring an address of its own.
    expect(cleanName('ann@10.0.0.1')).toBe('ann10.0.0.1')
  })
  it('is at most 64 characters, and may come out empty', () => {
    expect(cleanName('x'.repeat(100))).toHaveLength(64)
    expect(cleanName('<i></i>\u202e')).toBe('')
    // 64 code points, not 64 UTF-16 units: the emoji at the end stays whole.
    expect(cleanName(`${'a'.repeat(63)}😀b`)).toBe(`${'a'.repeat(63)}😀`)
  })
  it('drops the invisible fillers that are not format characters', () => {
    expect(cleanName('A\u3164n\u115Fn\u034F')).toBe('Ann')
  })
})

describe('passwordMatches', () => {
  it('compares whole passwords of any length', () => {
    expect(passwordMatches('correct horse', 'correct horse')).toBe(true)
    expect(passwordMatches('correct', 'correct horse')).toBe(false)
    expect(passwordMatches('', 'x')).toBe(false)
  })
})

describe('form input', () => {
  it('reads an error filter and reports what it cannot use', () => {
    expect(parseErrorFilter({ code: 'UNKNOWN_ITEM', store: '40', item: '', file: ' a.csv ' })).toEqual({
      filter: { code: 'UNKNOWN_ITEM', store: 40, file: 'a.csv' },
      problems: [],
    })
    expect(parseErrorFilter({ code: "x' or 1=1", store: '4x' }).problems).toEqual([
      "Code: 'x' or 1=1' is not an error code",
      "Store: '4x' is not a number",
    ])
    expect(filterParams({ store: 40, item: 0 })).toEqual({ store: '40', item: '0' })
  })

  it('reads a threshold: a whole number, or empty to remove it', () => {
    expect([parseThreshold('12'), parseThreshold(' '), parseThreshold(undefined)]).toEqual([12, null, null])
    expect(() => parseThreshold('-1')).toThrow("threshold '-1' is not a whole number of 0 or more")
  })
})

describe('allowedHosts', () => {
  const web = (over: object) => loadConfig({ ...base, ...over }).web
  it('answers only to this machine’s names without a password', () => {
    expect(allowedHosts(web({}))).toEqual(new Set(['127.0.0.1', 'localhost', '[::1]']))
    expect(allowedHosts(web({ WEB_PASSWORD: 'long enough' }))).toBeUndefined()
    expect(allowedHosts(web({ WEB_PASSWORD: 'long enough', WEB_ALLOWED_HOSTS: 'Stock.Example' }))).toEqual(
      new Set(['stock.example']),
    )
  })
  it('reads a Host header or an Origin the way a browser sent it', () => {
    expect(
      ['127.0.0.1:8080', 'LOCALHOST', '[::1]:8080', 'rebound.evil.example:8080', 'a b', undefined].map(
        hostnameOf,
      ),
    ).toEqual(['127.0.0.1', 'localhost', '[::1]', 'rebound.evil.example', undefined, undefined])
  })
})

describe('isForeign', () => {
  it('trusts Sec-Fetch-Site, and otherwise wants the whole origin to be the console', () => {
    expect(isForeign('same-origin', undefined, '127.0.0.1:8080')).toBe(false)
    expect(isForeign('cross-site', 'http://127.0.0.1:8080', '127.0.0.1:8080')).toBe(true)
    expect(isForeign('same-site', undefined, '127.0.0.1:8080')).toBe(true)
    expect(isForeign(undefined, 'http://127.0.0.1:8080', '127.0.0.1:8080')).toBe(false)
    expect(isForeign(undefined, 'http://localhost:3000', 'localhost:8080')).toBe(true)
    expect(isForeign(undefined, 'null', '127.0.0.1:8080')).toBe(true)
    expect(isForeign(undefined, undefined, '127.0.0.1:8080')).toBe(false)
  })
})
