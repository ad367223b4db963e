import { describe, expect, it } from 'vitest'
import { AppError } from '../lib/errors.ts'
import { brokerError } from './processor.ts'

describe('brokerError', () => {
  it('tells a broker outage from a bug by the bottom of the cause chain', () => {
    const kafkajs = Object.assign(new Error('Failed to find group coordinator'), {
      name: 'KafkaJSGroupCoordinatorNotFound',
    })
    expect(brokerError(kafkajs)).toBe(true)
    expect(
      brokerError(
        Object.assign(new Error('retries exceeded'), {
          name: 'KafkaJSNumberOfRetriesExceeded',
          cause: kafkajs,
        }),
      ),
    ).toBe(true)
    expect(brokerError(new AppError('DB_ERROR', 'permission denied'))).toBe(false)
    expect(
      brokerError(
        Object.assign(new Error('wrapped'), { name: 'KafkaJSError', cause: new TypeError('x is undefined') }),
      ),
    ).toBe(false)
    expect(brokerError(undefined)).toBe(false)
  })
})
