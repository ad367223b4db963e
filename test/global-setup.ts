// Starts the real local stack for the integration suites, unless all three URLs are given.

import type { TestProject } from 'vitest/node'
import { kafkaVersion } from '../infra/kafka-server.ts'
import { type Stack, type StackEnv, startStack, TEST_PORTS } from '../infra/stack.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackEnv
    /** A SASL/SCRAM-SHA-512 listener on the test broker; null when the stack was given by URL. */
    scram: { brokers: string; username: string; password: string } | null
    /** The least-privilege app role's URL on the test Postgres; null when the stack was given by URL. */
    appDatabaseUrl: string | null
    /** The web console's read-only role's URL on the test Postgres; null when the stack was given by URL. */
    webDatabaseUrl: string | null
  }
}

const SCRAM = { port: 29094, username: 'stockflow-test', password: 'scram-test-secret' }

let stack: Stack | undefined

export async function setup(project: TestProject): Promise<void> {
  const { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL } = process.env
  if (KAFKA_BROKERS && SCHEMA_REGISTRY_URL && DATABASE_URL) {
    project.provide('stack', { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL })
    project.provide('scram', null)
    project.provide('appDatabaseUrl', null)
    project.provide('webDatabaseUrl', null)
    return
  }
  const started = Date.now()
  stack = await startStack({
    dir: process.env.TEST_STACK_DIR ?? '.stack/test',
    ports: TEST_PORTS,
    kafkaVersion: kafkaVersion(process.env),
    fresh: true,
    scram: SCRAM,
    log: (msg) => console.log(`[stack] ${msg}`),
  })
  console.log(
    `[stack] Kafka ${kafkaVersion(process.env)}, Apicurio and PostgreSQL started by the project in ${Date.now() - started} ms`,
  )
  project.provide('stack', stack.env)
  project.provide('appDatabaseUrl', stack.postgres?.appUrl ?? null)
  project.provide('webDatabaseUrl', stack.postgres?.webUrl ?? null)
  project.provide('scram', {
    brokers: `127.0.0.1:${SCRAM.port}`,
    username: SCRAM.username,
    password: SCRAM.password,
  })
}

export async function teardown(): Promise<void> {
  await stack?.stop()
}
