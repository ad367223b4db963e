import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { loadConfig } from './config.ts'
import { createLogger } from './log.ts'

describe('createLogger', () => {
  it('never writes a configured password', () => {
    const lines: string[] = []
    const destination = new Writable({
      write(chunk, _enc, cb) {
        lines.push(chunk.toString())
        cb()
      },
    })
    const log = createLogger({ name: 't', destination })
    const config = loadConfig({
      KAFKA_BROKERS: 'b:9092',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'svc',
      KAFKA_SASL_PASSWORD: 'hunter2-kafka',
      SCHEMA_REGISTRY_URL: 'http://r:8081',
      SCHEMA_REGISTRY_USERNAME: 'reg',
      SCHEMA_REGISTRY_PASSWORD: 'hunter2-registry',
      DATABASE_URL: 'postgres://u:p@h:5432/d',
    })
    log.info({ config }, 'starting')
    log.info({ sasl: config.kafka.sasl }, 'sasl')
    log.info({ password: 'hunter2-plain' }, 'plain')
    const out = lines.join('')
    expect(out).not.toContain('hunter2')
    expect(out).toContain('"password":"***"')
    expect(JSON.parse(lines[0]!).config.kafka.sasl.username).toBe('svc')
  })
})
