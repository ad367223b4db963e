// Runs a real alerter in-process for integration tests, delivering to the context's ALERT_WEBHOOK_URL.
import type { Kafka } from 'kafkajs'
import { type Alerter, createAlerter } from '../../alerter/alerter.ts'
import { createWebhookSink } from '../../alerter/webhook.ts'
import { createDecoder, createRegistry } from '../../lib/registry.ts'
import type { TestContext } from './context.ts'

export async function startAlerter(ctx: TestContext, kafka: Kafka): Promise<Alerter> {
  const registry = createRegistry(ctx.config.registry)
  const consumer = kafka.consumer({ groupId: ctx.config.alerter.groupId, maxWaitTimeInMs: 50 })
  await consumer.connect()
  const alerter = createAlerter({
    consumer,
    sql: ctx.sql,
    errors: createDecoder(registry, 'StockError'),
    lowStock: createDecoder(registry, 'LowStock'),
    sink: createWebhookSink(ctx.config.alerter.webhookUrl!, 2000),
    log: ctx.log,
    clock: Date.now,
    config: ctx.config,
    onFatal: (err) => {
      throw err
    },
  })
  await alerter.start()
  return alerter
}
