// How the outbox relay is doing, for /readyz: failing since when, and with what. A relay that keeps failing
// publishes nothing the processor decides, though every batch still commits.
export interface RelayHealth {
  /** Wraps one relay step: a success clears the failure, a failure is remembered from its first time. */
  track<T>(step: () => Promise<T>): Promise<T>
  /** The failure when it has lasted `stalledAfterMs` or longer without a success. */
  stalled(stalledAfterMs: number): { sinceMs: number; error: string } | undefined
}

export function createRelayHealth(clock: () => number): RelayHealth {
  let failing: { since: number; error: string } | undefined
  return {
    async track(step) {
      try {
        const result = await step()
        failing = undefined
        return result
      } catch (err) {
        failing ??= { since: clock(), error: '' }
        failing.error = (err as Error)?.message ?? String(err)
        throw err
      }
    },
    stalled(stalledAfterMs) {
      if (!failing || clock() - failing.since < stalledAfterMs) return undefined
      return { sinceMs: clock() - failing.since, error: failing.error }
    },
  }
}
