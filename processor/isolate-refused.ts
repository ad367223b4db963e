// When Postgres refuses a batch for its data (the last line of defence behind the contract's rules), the
// batch is split in halves, recursively, down to the one message at fault, which is refused on its own
// (to `errors` as APPLY_REFUSED) while every other message is applied, in order.
import { isRefusedInput } from '../lib/errors.ts'

export interface ChunkResult {
  skipped: number
  verified: number
}

export interface IsolateSteps<M> {
  /** Applies the messages in one transaction. */
  apply(messages: M[]): Promise<ChunkResult>
  /** Records the one message Postgres refused. */
  refuse(message: M, err: Error): Promise<ChunkResult>
}

export async function applyOrIsolate<M>(steps: IsolateSteps<M>, messages: M[]): Promise<ChunkResult> {
  try {
    return await steps.apply(messages)
  } catch (err) {
    if (!isRefusedInput(err)) throw err
    if (messages.length === 1) return steps.refuse(messages[0]!, err as Error)
    const mid = messages.length >> 1
    const first = await applyOrIsolate(steps, messages.slice(0, mid))
    const second = await applyOrIsolate(steps, messages.slice(mid))
    return { skipped: first.skipped + second.skipped, verified: first.verified | second.verified }
  }
}
