// A producer of movements onto `events` with the contract's encoder: what a re-drive and a revert both send
// through, from the CLI and from the console.
import type { Kafka } from 'kafkajs'
import type { Config } from '../lib/config.ts'
import { createIdempotentProducer, type RenewableProducer } from '../lib/kafka.ts'
import { createEncoder, createRegistry, type Encoder } from '../lib/registry.ts'
import type { StockMovement } from '../schemas/contract.ts'

export interface EventsProducer {
  producer: RenewableProducer
  encoder: Encoder<StockMovement>
  topic: string
}

export async function connectEventsProducer(
  kafka: Kafka,
  config: Pick<Config, 'registry' | 'topics'>,
): Promise<EventsProducer> {
  const encoder = await createEncoder<StockMovement>(
    createRegistry(config.registry),
    config.registry,
    config.topics.events,
    'StockMovement',
  )
  const producer = createIdempotentProducer(kafka, { retries: 5 })
  await producer.connect()
  return { producer, encoder, topic: config.topics.events }
}
