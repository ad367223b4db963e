// Times are read and written in UTC whatever the server's own TimeZone: initdb takes the host's zone, and
// in one that kept local mean time in 1920 Postgres prints offsets with seconds (+00:19:32), which the
// client cannot parse: every page showing such a movement answered 500.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSql, type Sql } from '../lib/db.ts'
import { createTestContext, type TestContext, uniqueName } from './support/context.ts'

describe('database time zone', () => {
  let ctx: TestContext
  let db: string
  let sql: Sql
  beforeAll(async () => {
    ctx = await createTestContext('timezone')
    db = uniqueName('tz')
    await ctx.sql.unsafe(`create database ${db}`)
    await ctx.sql.unsafe(`alter database ${db} set timezone to 'Europe/Amsterdam'`)
    const url = new URL(ctx.config.db.url)
    url.pathname = `/${db}`
    sql = createSql({ url: url.toString(), max: 1, name: 'test-timezone' })
  })
  afterAll(async () => {
    await sql?.end({ timeout: 5 })
    await ctx.sql.unsafe(`drop database if exists ${db}`)
    await ctx.close()
  })

  it('reads a 1920 date on a server whose zone is Europe/Amsterdam as the instant it is', async () => {
    const [row] = await sql<{ zone: string; at: Date; day: string }[]>`
      select current_setting('TimeZone') as zone, '1920-05-01T10:00:00Z'::timestamptz as at,
             ('2024-05-01T23:30:00Z'::timestamptz)::date::text as day`
    expect({ zone: row!.zone, at: row!.at.getTime(), day: row!.day }).toEqual({
      zone: 'UTC',
      at: Date.parse('1920-05-01T10:00:00Z'),
      // A business date is a UTC day: in Amsterdam this instant is already 2 May.
      day: '2024-05-01',
    })
  })
})
