import { describe, expect, it } from 'vitest'
import { AppError, ConfigError, classifyDbError, DbError, isRefusedInput } from './errors.ts'

describe('errors', () => {
  it('sets name, code, retriable and cause', () => {
    const cause = new Error('root')
    const e = new DbError('DB_ERROR', 'x', { cause, context: { op: 'y' } })
    expect(e).toBeInstanceOf(AppError)
    expect([e.name, e.code, e.retriable, e.cause, e.context]).toEqual([
      'DbError',
      'DB_ERROR',
      false,
      cause,
      { op: 'y' },
    ])
    expect(new ConfigError(['a', 'b']).message).toBe('Invalid configuration:\n  - a\n  - b')
  })

  it.each([
    ['40001', 'DB_SERIALIZATION', true],
    ['40P01', 'DB_SERIALIZATION', true],
    ['08006', 'DB_UNAVAILABLE', true],
    ['57P01', 'DB_UNAVAILABLE', true],
    ['23505', 'DB_CONSTRAINT', false],
    ['23514', 'DB_CONSTRAINT', false],
    ['42P01', 'DB_ERROR', false],
    ['57014', 'DB_TIMEOUT', true],
    ['55P03', 'DB_TIMEOUT', true],
    ['25P03', 'DB_TIMEOUT', true],
    ['22P02', 'DB_DATA', false],
    ['22003', 'DB_DATA', false],
    ['54000', 'DB_DATA', false],
    ['ECONNREFUSED', 'DB_UNAVAILABLE', true],
  ])('classifies SQLSTATE %s as %s (retriable %s)', (code, expected, retriable) => {
    const e = classifyDbError(Object.assign(new Error('pg'), { code }))
    expect([e.code, e.retriable]).toEqual([expected, retriable])
  })

  it('treats data and constraint refusals as the fault of the input, and nothing else', () => {
    const refused = (code: string) =>
      isRefusedInput(classifyDbError(Object.assign(new Error('pg'), { code })))
    expect(['22P02', '23514', '23505', '54000'].map(refused)).toEqual([true, true, true, true])
    expect(['42P01', '57014', '08006', '40001'].map(refused)).toEqual([false, false, false, false])
    expect(isRefusedInput(new Error('invariant'))).toBe(false)
  })
})
