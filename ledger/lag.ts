// Consumer lag, for `stockflow stats` and the console: the processor's position from Postgres, whose
// offsets are the truth, and the alerter's from Kafka.
import type { Admin } from 'kafkajs'
import type { Config } from '../lib/config.ts'
import { groupLag } from '../lib/kafka.ts'

export interface PartitionLag {
  topic: string
  partition: number
  high: number
  committed: number
  lag: number
}

/** Lag per consumer group, topic and partition: the processor's position from Postgres, the alerter's from Kafka. */
export async function consumerLag(
  admin: Admin,
  config: Pick<Config, 'processor' | 'alerter' | 'topics'>,
  ledgerOffsets: Map<number, number>,
): Promise<Record<string, PartitionLag[]>> {
  const { processor, alerter, topics } = config
  const of = async (group: string, topic: string) =>
    (await groupLag(admin, group, topic)).map((p) => ({ topic, ...p }))
  // Postgres holds the processor's true position; Kafka's committed offsets may trail it.
  const events = (await of(processor.groupId, topics.events)).map((p) => {
    const at = Math.max(p.committed, ledgerOffsets.get(p.partition) ?? 0)
    return { ...p, committed: at, lag: Math.max(0, p.high - at) }
  })
  return {
    [processor.groupId]: events,
    [alerter.groupId]: [
      ...(await of(alerter.groupId, topics.errors)),
      ...(await of(alerter.groupId, topics.lowStock)),
    ],
  }
}
