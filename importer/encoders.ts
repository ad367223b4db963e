// The importer's two writers: movements to `events`, rejections to `errors`, both registered at start-up.
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import type { Config } from '../lib/config.ts'
import { createEncoder, type Encoder } from '../lib/registry.ts'
import type { StockError, StockMovement } from '../schemas/contract.ts'

export interface ImportEncoders {
  movements: Encoder<StockMovement>
  errors: Encoder<StockError>
}

export async function createImportEncoders(
  registry: SchemaRegistry,
  config: Pick<Config, 'registry' | 'topics'>,
): Promise<ImportEncoders> {
  return {
    movements: await createEncoder<StockMovement>(
      registry,
      config.registry,
      config.topics.events,
      'StockMovement',
    ),
    errors: await createEncoder<StockError>(registry, config.registry, config.topics.errors, 'StockError'),
  }
}
