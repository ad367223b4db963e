import { describe, expect, it } from 'vitest'
import { AppError } from './errors.ts'
import { brokerError, keepConsumerRunning } from './kafka.ts'

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

describe('keepConsumerRunning', () => {
  const stub = () => {
    let crash: ((e: { payload: { error: unknown; restart: boolean } }) => void) | undefined
    const consumer = {
      events: { CRASH: 'consumer.crash' },
      on: (_: string, f: typeof crash) => {
        crash = f
      },
      connect: async () => {},
    }
    return { consumer, crash: (error: unknown, restart = false) => crash!({ payload: { error, restart } }) }
  }
  const log = { warn: () => {} } as never

  it('starts the consumer again after kafkajs gave up on a broker error, and exits on anything else', async () => {
    const s = stub()
    let runs = 0
    const fatal: unknown[] = []
    const keeper = keepConsumerRunning(s.consumer as never, {
      run: async () => {
        runs++
      },
      log,
      onFatal: (err) => fatal.push(err),
    })
    s.crash(Object.assign(new Error('coordinator'), { name: 'KafkaJSGroupCoordinatorNotFound' }))
    await keeper.stop()
    expect([runs, fatal]).toEqual([1, []])
    const bug = new TypeError('x is undefined')
    const s2 = stub()
    keepConsumerRunning(s2.consumer as never, { run: async () => {}, log, onFatal: (err) => fatal.push(err) })
    s2.crash(bug)
    s2.crash(new Error('retried by kafkajs itself'), true)
    expect(fatal).toEqual([bug])
  })
})
