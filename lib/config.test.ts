import { describe, expect, it } from 'vitest'
import { loadConfig } from './config.ts'
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
