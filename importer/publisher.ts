// Batches messages into producer requests and applies back-pressure to the parser.
//
// kafkajs numbers an idempotent producer's batches when a request is built, so two requests in flight
// at once can reach the broker out of sequence. One request is in flight at a time; while it waits for
// acks=all, the next batch fills up, and `add` blocks once `maxQueuedBatches` batches are waiting.
//
// A request is bounded by bytes as well as by count: the broker refuses a partition's batch over its
// message.max.bytes (1 MB by default) as MESSAGE_TOO_LARGE, and a file's rejections all share one key.
import type { Message, Producer } from 'kafkajs'
import { messageBytes } from '../lib/kafka.ts'

export interface PublisherOptions {
  producer: Producer
  /** Messages per request. */
  batchRows: number
  /** Bytes of keys, values and headers per request; a message larger than this goes in a request alone. */
  batchBytes: number
  /** How long a partial batch waits for more messages before it is sent anyway. */
  lingerMs: number
  /** Full batches allowed to wait behind the one in flight before `add` blocks. */
  maxQueuedBatches: number
  onSent?: (counts: Record<string, number>) => void
}

export interface Publisher {
  /**
   * Queues a message. Returns nothing while there is room for more, and otherwise a promise that resolves
   * once there is: the importer calls this per row, and awaiting a promise per row cost more than the
   * row's encoding. Throws, or rejects, once any send has failed.
   */
  add(topic: string, message: Message): Promise<void> | undefined
  /** Resolves when every queued message has been acknowledged by the broker. */
  flush(): Promise<void>
}

interface Queued {
  topic: string
  message: Message
  bytes: number
}

export function createPublisher(opts: PublisherOptions): Publisher {
  let queue: Queued[] = []
  let queuedBytes = 0
  let sending: Promise<void> | undefined
  let failure: unknown
  let linger: NodeJS.Timeout | undefined
  let roomWaiters: (() => void)[] = []
  const highWater = opts.batchRows * opts.maxQueuedBatches
  const highWaterBytes = opts.batchBytes * opts.maxQueuedBatches
  const room = () => queue.length < highWater && queuedBytes < highWaterBytes

  const wakeWaiters = () => {
    const waiters = roomWaiters
    roomWaiters = []
    for (const w of waiters) w()
  }

  async function sendLoop(force: boolean): Promise<void> {
    while (queue.length > 0 && failure === undefined && (force || full())) {
      let take = 0
      let bytes = 0
      while (
        take < queue.length &&
        take < opts.batchRows &&
        (take === 0 || bytes + queue[take]!.bytes <= opts.batchBytes)
      ) {
        bytes += queue[take]!.bytes
        take++
      }
      const batch = queue.slice(0, take)
      queue = queue.slice(take)
      queuedBytes -= bytes
      if (room()) wakeWaiters()
      const byTopic = new Map<string, Message[]>()
      for (const q of batch) {
        const list = byTopic.get(q.topic)
        if (list) list.push(q.message)
        else byTopic.set(q.topic, [q.message])
      }
      try {
        await opts.producer.sendBatch({
          acks: -1,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        })
        opts.onSent?.(Object.fromEntries([...byTopic].map(([t, m]) => [t, m.length])))
      } catch (err) {
        failure = err
        wakeWaiters()
      }
    }
  }

  function full(): boolean {
    return queue.length >= opts.batchRows || queuedBytes >= opts.batchBytes
  }

  function kick(force: boolean): Promise<void> {
    if (!sending) {
      sending = sendLoop(force).finally(() => {
        sending = undefined
      })
    }
    return sending
  }

  function armLinger() {
    if (linger || queue.length === 0) return
    linger = setTimeout(() => {
      linger = undefined
      void kick(true).then(armLinger)
    }, opts.lingerMs)
  }

  return {
    add(topic, message) {
      if (failure !== undefined) throw failure
      const bytes = messageBytes(message)
      queue.push({ topic, message, bytes })
      queuedBytes += bytes
      if (full()) void kick(false)
      else armLinger()
      if (room()) return undefined
      return new Promise<void>((resolve) => roomWaiters.push(resolve)).then(() => {
        if (failure !== undefined) throw failure
      })
    },
    async flush() {
      clearTimeout(linger)
      linger = undefined
      while ((queue.length > 0 || sending) && failure === undefined) {
        await (sending ?? kick(true))
      }
      if (failure !== undefined) throw failure
    },
  }
}
