import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { firstHidden, HIDDEN_ALL, postgresClass } from './hidden-characters.ts'

describe('hidden characters', () => {
  it('finds controls, bidi overrides, zero-width joiners, fillers and tags, and leaves letters and emoji', () => {
    expect(
      ['a\u202Eb', 'a\u200Db', 'a\u3164b', 'a\u{E0041}b', 'a\u034Fb', 'a\u0007b', 'Ünïcødé 😀', 'tab\tx'].map(
        firstHidden,
      ),
    ).toEqual(['U+202E', 'U+200D', 'U+3164', 'U+E0041', 'U+034F', 'U+0007', undefined, 'U+0009'])
    expect('x\u2066y\uFFF9z'.replace(HIDDEN_ALL, '')).toBe('xyz')
  })

  it('is the class migration 019 gives Postgres, range for range', () => {
    const migration = readFileSync(new URL('../db/migrations/019_audit_doors.sql', import.meta.url), 'utf8')
    const declared = /hidden_class\(\) returns text[\s\S]*?'(\[[^']+\])'/.exec(migration)?.[1]
    expect(declared).toBe(postgresClass())
  })
})
