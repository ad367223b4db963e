// The short chaos run inside `npm test`: ~20k events with processor, importer, broker and Postgres faults.
import { describe, expect, it } from 'vitest'
import { runChaos } from './chaos/harness.ts'

describe('chaos (short run)', () => {
  it('loses nothing and applies nothing twice under seeded faults', async () => {
    const report = await runChaos({
      seed: Number(process.env.CHAOS_SEED ?? 7),
      events: 20_000,
      files: 10,
      windowMs: 40_000,
      faults: { processorKills: 3, importerKills: 1, brokerRestarts: 1, postgresRestarts: 1 },
      quiesceTimeoutMs: 240_000,
      stackDir: '.stack/chaos-test',
      log: (m) => console.log(`[chaos] ${m}`),
    })
    console.log(JSON.stringify(report))
    expect(report.faults.filter((f) => f.kind === 'kill-processor')).toHaveLength(3)
    expect(report.faults.filter((f) => f.kind === 'restart-broker')).toHaveLength(1)
    expect(report.faults.filter((f) => f.kind === 'restart-postgres')).toHaveLength(1)
    expect(report.quiescent.reached).toBe(true)
    expect(report.invariants).toMatchObject({
      every_row_exactly_once: { ok: true },
      stock_matches_ground_truth: { ok: true },
      journal_count_equals_unique_valid: { ok: true },
      one_low_stock_event_per_episode: { ok: true },
      outbox_drained: { ok: true },
      poison_reported: { ok: true },
      every_injected_message_accounted_once: { ok: true },
      processor_exits_only_when_killed: { ok: true },
      corrections_refused_and_withdrawn: { ok: true },
      running_balance_ends_at_stock: { ok: true },
      file_reverted_during_the_run: { ok: true },
    })
    for (const kind of [
      'invalid-messages',
      'transactional',
      'reused-id',
      'parked-backlog',
      'restart-registry',
    ])
      expect(report.faults.some((f) => f.kind === kind)).toBe(true)
    expect(report.pass).toBe(true)
  }, 600_000)
})
