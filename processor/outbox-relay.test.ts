import { describe, expect, it } from 'vitest'
import { stockError } from '../schemas/payloads.ts'
import { clippedError, takeWithin } from './outbox-relay.ts'

describe('outbox relay requests', () => {
  it('takes rows from the head while they fit, and always at least one', () => {
    expect(takeWithin([100, 100, 100], 250)).toBe(2)
    expect(takeWithin([300, 10], 250)).toBe(1)
    expect(takeWithin([10, 10], 1000)).toBe(2)
    expect(takeWithin([], 1000)).toBe(0)
  })

  it('clips an error to be sent, keeping its identity and saying where the whole is', () => {
    const e = stockError(
      { error_id: 'e1', stage: 'import', code: 'X', message: 'm'.repeat(5000), raw_row: 'r'.repeat(5000) },
      0,
    )
    const c = clippedError({ ...e, raw_value_base64: 'QUFB'.repeat(1000) }, '42')
    expect([c.error_id, c.code]).toEqual(['e1', 'X'])
    expect(c.message).toMatch(/^m{1021}\.\.\. \(clipped to be sent; the whole error is outbox row 42\)$/)
    expect([c.raw_row!.length, c.raw_value_base64!.length]).toEqual([1024, 1024])
    expect(clippedError(e, '1').raw_value_base64).toBeNull()
  })
})
