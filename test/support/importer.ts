// Runs a real importer in-process, watching a temporary folder, for integration tests.
import { createImporter, type Importer, type ImporterDeps } from '../../importer/importer.ts'
import type { RenewableProducer } from '../../lib/kafka.ts'
import type { TestContext } from './context.ts'
import { connectProducer, encoders, setupTopics } from './kafka.ts'

export interface RunningImporter {
  importer: Importer
  producer: RenewableProducer
  stop(): Promise<void>
}

export async function startImporter(
  ctx: TestContext,
  opts: { hooks?: ImporterDeps['hooks'] } = {},
): Promise<RunningImporter> {
  const kafka = await setupTopics(ctx)
  const producer = await connectProducer(kafka)
  const enc = await encoders(ctx)
  const importer = createImporter({
    producer,
    movements: enc.movements,
    errors: enc.errors,
    sql: ctx.sql,
    log: ctx.log,
    clock: Date.now,
    config: ctx.config,
    hooks: opts.hooks,
  })
  await importer.start()
  return {
    importer,
    producer,
    async stop() {
      await importer.stop()
      await producer.disconnect()
    },
  }
}
