import { describe, expect, it } from 'vitest'
import { AppError } from './errors.ts'
import { brokerError, keepConsumerRunning, renewableProducer } from './kafka.ts'
import { whenReady } from './retry.ts'

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

describe('renewableProducer', () => {
  it('connects a renewed producer before its first send when connecting failed at renewal', async () => {
    const made: { connects: number; sends: number }[] = []
    let brokerUp = true
    const producer = renewableProducer(() => {
      const p = { connects: 0, sends: 0 }
      made.push(p)
      return {
        connect: async () => {
          p.connects++
          if (!brokerUp) throw new Error('connect ECONNREFUSED')
        },
        disconnect: async () => {},
        sendBatch: async () => {
          p.sends++
          return []
        },
      } as never
    })
    brokerUp = false
    await expect(producer.renew()).rejects.toThrow('ECONNREFUSED')
    await expect(producer.sendBatch({ topicMessages: [] })).rejects.toThrow('ECONNREFUSED')
    brokerUp = true
    await producer.sendBatch({ topicMessages: [] })
    await producer.sendBatch({ topicMessages: [] })
    expect(made.map((p) => [p.connects, p.sends])).toEqual([
      [0, 0],
      [3, 2],
    ])
  })
})

describe('whenReady', () => {
  it('waits for a broker that is away, but not for credentials it refuses', async () => {
    const log = { warn: () => {} }
    let calls = 0
    const denied = Object.assign(new Error('SASL authentication failed'), {
      name: 'KafkaJSSASLAuthenticationError',
    })
    await expect(
      whenReady(
        'Kafka',
        async () => {
          calls++
          throw denied
        },
        log,
      ),
    ).rejects.toBe(denied)
    expect(calls).toBe(1)
  })
})

describe('keepConsumerRunning start', () => {
  it('waits out a broker error while the consumer starts, and passes a bug on', async () => {
    let runs = 0
    const consumer = { events: { CRASH: 'c' }, on: () => {}, connect: async () => {} }
    const keeper = keepConsumerRunning(consumer as never, {
      run: async () => {
        runs++
        if (runs < 2)
          throw Object.assign(new Error('Connection error: read ECONNRESET'), {
            name: 'KafkaJSConnectionError',
          })
      },
      log: { warn: () => {} } as never,
      onFatal: () => {},
    })
    await keeper.start()
    expect(runs).toBe(2)
    const bug = new TypeError('x is undefined')
    const failing = keepConsumerRunning(consumer as never, {
      run: () => Promise.reject(bug),
      log: { warn: () => {} } as never,
      onFatal: () => {},
    })
    await expect(failing.start()).rejects.toBe(bug)
  }, 10_000)
})
