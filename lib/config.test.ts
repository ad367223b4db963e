import { describe, expect, it } from 'vitest'
import { isLoopback, loadConfig, loadMigrateConfig } from './config.ts'
import { ConfigError } from './errors.ts'

const base = {
  KAFKA_BROKERS: '127.0.0.1:9092',
  SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081',
  DATABASE_URL: 'postgres://u:secret@127.0.0.1:5432/db',
}

describe('loadConfig', () => {
  it('applies defaults and freezes the result', () => {
    const c = loadConfig(base)
    expect(c.topics).toMatchObject({
      events: 'events',
      errors: 'errors',
      lowStock: 'low-stock',
      eventsPartitions: 6,
    })
    expect(c.processor.retryScheduleMs).toEqual([1000, 5000, 30_000, 120_000, 600_000])
    expect(Object.isFrozen(c.importer)).toBe(true)
    expect(() => {
      ;(c.importer as { settleMs: number }).settleMs = 1
    }).toThrow()
  })

  it('bounds each service heap; the processor has a larger young generation unless told otherwise', () => {
    expect(loadConfig(base).memory).toEqual({
      importer: { heapMb: 48, youngMb: 2 },
      processor: { heapMb: 96, youngMb: 8 },
      alerter: { heapMb: 48, youngMb: 2 },
      web: { heapMb: 64, youngMb: 2 },
    })
    const shared = loadConfig({ ...base, HEAP_YOUNG_MB: '4', PROCESS_HEAP_YOUNG_MB: '16' }).memory
    expect([shared.importer.youngMb, shared.processor.youngMb, shared.web.youngMb]).toEqual([4, 16, 4])
    expect(() => loadConfig({ ...base, HEAP_YOUNG_MB: '0', WEB_HEAP_YOUNG_MB: 'x' })).toThrow(
      /HEAP_YOUNG_MB must be an integer between 1 and 256, got '0'[\s\S]*WEB_HEAP_YOUNG_MB must be/,
    )
  })

  it('reports every bad key in one error, without echoing passwords', () => {
    let err: unknown
    try {
      loadConfig({
        KAFKA_BROKERS: 'no-port',
        DATABASE_URL: 'not a url :secret@',
        IMPORT_SETTLE_MS: '-5',
        IMPORT_FORCE: 'maybe',
        PROCESS_RETRY_SCHEDULE_MS: '1,x',
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        LOG_LEVEL: 'loud',
      })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ConfigError)
    const problems = (err as ConfigError).problems
    expect(problems).toEqual([
      'KAFKA_SASL_USERNAME is required',
      'KAFKA_SASL_PASSWORD is required',
      "KAFKA_BROKERS entry 'no-port' is not host:port",
      'SCHEMA_REGISTRY_URL is required',
      "DATABASE_URL must be a URL, got 'not a url :secret@'",
      "IMPORT_SETTLE_MS must be an integer between 0 and 600000, got '-5'",
      "IMPORT_FORCE must be true/false (or 1/0), got 'maybe'",
      "PROCESS_RETRY_SCHEDULE_MS must be a comma-separated list of non-negative integers, got '1,x'",
      "LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, got 'loud'",
    ])
    expect((err as ConfigError).code).toBe('CONFIG_INVALID')
  })
})

describe('web console settings', () => {
  it('binds to loopback without a password by default', () => {
    expect(loadConfig(base).web).toMatchObject({ host: '127.0.0.1', port: 8080, password: undefined })
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost'].map(isLoopback)).toEqual([true, true, true, true])
    expect(['0.0.0.0', '10.0.0.5', '::', 'example.com'].map(isLoopback)).toEqual([false, false, false, false])
  })

  it('refuses to bind beyond loopback without a password, and reports every web key at once', () => {
    let err: unknown
    try {
      loadConfig({ ...base, WEB_HOST: '0.0.0.0', WEB_PORT: 'http', WEB_SESSION_SECRET: 'short' })
    } catch (e) {
      err = e
    }
    expect((err as ConfigError).problems).toEqual([
      "WEB_PORT must be an integer between 0 and 65535, got 'http'",
      'WEB_PASSWORD is required when WEB_HOST (0.0.0.0) is not a loopback address: the console would be open to the network',
      'WEB_SESSION_SECRET must be at least 32 characters',
    ])
    const proxied = loadConfig({
      ...base,
      WEB_HOST: '0.0.0.0',
      WEB_PASSWORD: 'long enough',
      WEB_TRUST_PROXY: '10.0.0.2',
    })
    expect(proxied.web).toMatchObject({ host: '0.0.0.0', tls: undefined, trustProxy: ['10.0.0.2'] })
  })

  it('keeps a password on loopback over plain http, with no proxy trusted', () => {
    const web = loadConfig({ ...base, WEB_PASSWORD: 'long enough' }).web
    expect(web).toMatchObject({
      host: '127.0.0.1',
      password: 'long enough',
      tls: undefined,
      trustProxy: false,
    })
    expect(loadConfig({ ...base, WEB_HOST: '::1', WEB_PASSWORD: 'long enough' }).web.host).toBe('::1')
  })

  it('refuses a password on plain http beyond loopback, naming the keys that fix it', () => {
    expect(() => loadConfig({ ...base, WEB_HOST: '0.0.0.0', WEB_PASSWORD: 'long enough' })).toThrow(
      new ConfigError([
        'WEB_PASSWORD on plain http at WEB_HOST 0.0.0.0 (not a loopback address): browsers would refuse the session cookie and the password would cross the network unencrypted. Set WEB_TLS_CERT and WEB_TLS_KEY to serve https, or WEB_TRUST_PROXY to the address of the https proxy in front of the console',
      ]),
    )
    const tls = { WEB_TLS_CERT: '/etc/stockflow/web.crt', WEB_TLS_KEY: '/etc/stockflow/web.key' }
    expect(
      loadConfig({ ...base, ...tls, WEB_HOST: '10.0.0.5', WEB_PASSWORD: 'long enough' }).web,
    ).toMatchObject({
      tls: { certFile: '/etc/stockflow/web.crt', keyFile: '/etc/stockflow/web.key' },
      trustProxy: false,
    })
    // https on loopback is allowed too: the cookie follows the request's protocol.
    expect(loadConfig({ ...base, ...tls }).web.tls).toEqual({
      certFile: '/etc/stockflow/web.crt',
      keyFile: '/etc/stockflow/web.key',
    })
  })

  it('reports half a TLS pair and a bad proxy list with the other web problems', () => {
    let err: unknown
    try {
      loadConfig({
        ...base,
        WEB_HOST: '0.0.0.0',
        WEB_PASSWORD: 'long enough',
        WEB_TLS_KEY: '/etc/stockflow/web.key',
        WEB_TRUST_PROXY: '2',
      })
    } catch (e) {
      err = e
    }
    expect((err as ConfigError).problems).toEqual([
      'WEB_TLS_CERT and WEB_TLS_KEY go together (https needs both the certificate and its key); only WEB_TLS_KEY is set',
      "WEB_TRUST_PROXY must name the proxies' addresses (a hop count such as '2' is ignored by Fastify): true, or addresses and CIDR ranges, comma-separated",
      'WEB_PASSWORD on plain http at WEB_HOST 0.0.0.0 (not a loopback address): browsers would refuse the session cookie and the password would cross the network unencrypted. Set WEB_TLS_CERT and WEB_TLS_KEY to serve https, or WEB_TRUST_PROXY to the address of the https proxy in front of the console',
    ])
  })
})

describe('the console readiness URLs', () => {
  it('are built from HEALTH_HOST without being checked, and checked only when given', () => {
    expect(loadConfig({ ...base, HEALTH_HOST: '0.0.0.0' }).web.readinessUrls).toEqual({
      importer: 'http://127.0.0.1:9464/readyz',
      processor: 'http://127.0.0.1:9465/readyz',
      alerter: 'http://127.0.0.1:9466/readyz',
    })
    // An address no URL can hold must not stop the services that never probe it.
    expect(loadConfig({ ...base, HEALTH_HOST: 'fe80::1%eth0' }).healthHost).toBe('fe80::1%eth0')
    expect(() => loadConfig({ ...base, IMPORTER_READY_URL: 'http://importer 9464' })).toThrow(
      "IMPORTER_READY_URL must be a URL, got 'http://importer 9464'",
    )
  })
})

describe('sample.env', () => {
  it('names only keys that the code reads, and loadConfig accepts its values', async () => {
    const { readFileSync, readdirSync } = await import('node:fs')
    const root = new URL('../', import.meta.url)
    const sample = readFileSync(new URL('sample.env', root), 'utf8')
    const keys = [...sample.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!)
    const code = ['lib', 'infra', 'ops', 'bin', 'web']
      .flatMap((dir) =>
        readdirSync(new URL(`${dir}/`, root))
          .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.test.ts'))
          .map((f) => readFileSync(new URL(`${dir}/${f}`, root), 'utf8')),
      )
      .join('\n')
    // Docker Compose reads some keys itself, from .env: ${STOCKFLOW_UID:-1000} and the like.
    const compose = ['docker-compose.yml', 'docker-compose.kafka.yml']
      .map((f) => readFileSync(new URL(f, root), 'utf8'))
      .join('\n')
    expect(keys.length).toBeGreaterThan(30)
    expect(
      keys.filter((k) => !code.includes(`'${k}'`) && !code.includes(`.${k}`) && !compose.includes(`\${${k}`)),
    ).toEqual([])
    const active = Object.fromEntries(
      [...sample.matchAll(/^([A-Z][A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]),
    )
    const urls = {
      KAFKA_BROKERS: '127.0.0.1:19092',
      SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081',
      DATABASE_URL: 'postgres://u:p@127.0.0.1/db',
    }
    expect(() => loadConfig({ ...active, ...urls })).not.toThrow()
    // Its comment says HEAP_YOUNG_MB sets every service's young generation: a copy of it must let it.
    const young = loadConfig({ ...active, ...urls, HEAP_YOUNG_MB: '4' }).memory
    expect(Object.values(young).map((m) => m.youngMb)).toEqual([4, 4, 4, 4])
  })
})

describe('loadMigrateConfig', () => {
  it('needs DATABASE_URL and nothing of Kafka or the registry', () => {
    expect(loadMigrateConfig({ DATABASE_URL: 'postgres://u@h/d', LOG_LEVEL: 'warn' })).toMatchObject({
      db: { url: 'postgres://u@h/d', schema: 'public' },
      log: { level: 'warn' },
    })
    expect(() => loadMigrateConfig({ LOG_LEVEL: 'loud' })).toThrow(
      "Invalid configuration:\n  - DATABASE_URL is required\n  - LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, got 'loud'",
    )
  })
})
