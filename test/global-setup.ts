// Starts the real local stack for the integration suites, unless all three URLs are given.
import type { TestProject } from 'vitest/node'
import { type Stack, type StackEnv, startStack, TEST_PORTS } from '../infra/stack.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackEnv
  }
}

let stack: Stack | undefined

export async function setup(project: TestProject): Promise<void> {
  const { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL } = process.env
  if (KAFKA_BROKERS && SCHEMA_REGISTRY_URL && DATABASE_URL) {
    project.provide('stack', { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL })
    return
  }
  const started = Date.now()
  stack = await startStack({
    dir: process.env.TEST_STACK_DIR ?? '.stack/test',
    ports: TEST_PORTS,
    fresh: true,
    log: (msg) => console.log(`[stack] ${msg}`),
  })
  console.log(
    `[stack] Kafka 3.9.1, Apicurio and PostgreSQL started by the project in ${Date.now() - started} ms`,
  )
  project.provide('stack', stack.env)
}

export async function teardown(): Promise<void> {
  await stack?.stop()
}
