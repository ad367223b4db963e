import { describe, expect, it } from 'vitest'
import { AppError, ConfigError, classifyDbError, DbError } from './errors.ts'

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
    ['ECONNREFUSED', 'DB_UNAVAILABLE', true],
  ])('classifies SQLSTATE %s as %s (retriable %s)', (code, expected, retriable) => {
    const e = classifyDbError(Object.assign(new Error('pg'), { code }))
    expect([e.code, e.retriable]).toEqual([expected, retriable])
  })
})
