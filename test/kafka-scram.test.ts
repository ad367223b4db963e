// SASL/SCRAM-SHA-512 from config against the local broker's SCRAM listener.
import { describe, expect, inject, it } from 'vitest'
import { loadConfig } from '../lib/config.ts'
import { createKafka } from '../lib/kafka.ts'
import { createLogger } from '../lib/log.ts'

const scram = inject('scram')

describe.runIf(scram)('Kafka SASL/SCRAM', () => {
  const configFor = (password: string) =>
    loadConfig({
      ...inject('stack'),
      KAFKA_BROKERS: scram!.brokers,
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: scram!.username,
      KAFKA_SASL_PASSWORD: password,
    })
  const log = createLogger({ name: 'scram', level: 'silent' })

  it('authenticates with the configured user and password', async () => {
    const admin = createKafka(configFor(scram!.password).kafka, log).admin()
    await admin.connect()
    const cluster = await admin.describeCluster()
    expect(cluster.brokers.length).toBe(1)
    await admin.disconnect()
  })

  it('is refused with a wrong password', async () => {
    const kafka = createKafka({ ...configFor('wrong-password').kafka }, log)
    const admin = kafka.admin({ retry: { retries: 0 } })
    await expect(admin.connect()).rejects.toThrow(
      /SASL SCRAM SHA512 authentication failed|Authentication failed/i,
    )
  })
})
