import { logLevel } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { kafkaLogLevel } from './kafka.ts'

describe('kafkaLogLevel', () => {
  it('logs what kafkajs retries by itself at start-up at debug, and everything else as kafkajs says', () => {
    const at = (level: number, text: string) => kafkaLogLevel(level, text)
    expect(
      at(logLevel.ERROR, 'Response GroupCoordinator(key: 10, version: 2) The coordinator is loading'),
    ).toBe('debug')
    expect(at(logLevel.ERROR, 'Response Metadata There is no leader for this topic-partition')).toBe('debug')
    expect(at(logLevel.WARN, 'The group is rebalancing, so a rejoin is needed')).toBe('debug')
    expect(at(logLevel.ERROR, 'Response CreateTopics(key: 19, version: 3) Topic creation errors')).toBe(
      'debug',
    )
    expect(at(logLevel.ERROR, 'Crash: KafkaJSNumberOfRetriesExceeded Connection refused')).toBe('error')
    expect(
      at(logLevel.ERROR, 'Crash: KafkaJSNumberOfRetriesExceeded: The coordinator is not available'),
    ).toBe('error')
    expect(at(logLevel.ERROR, 'Error when calling eachBatch Not enough in-sync replicas')).toBe('error')
    expect(at(logLevel.WARN, 'Connection timeout')).toBe('warn')
    expect(at(logLevel.INFO, 'Consumer has joined the group')).toBe('info')
  })
})
