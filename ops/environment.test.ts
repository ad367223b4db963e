import { describe, expect, it } from 'vitest'
import { endpointsOf, layerEnv } from './environment.ts'

describe('layerEnv', () => {
  it('takes the environment over .env over the running stack, and says where each URL came from', () => {
    const r = layerEnv(
      { KAFKA_BROKERS: 'env:1', DATABASE_URL: '' },
      { KAFKA_BROKERS: 'dotenv:1', SCHEMA_REGISTRY_URL: 'http://dotenv', LOG_LEVEL: 'debug' },
      { KAFKA_BROKERS: 'stack:1', SCHEMA_REGISTRY_URL: 'http://stack', DATABASE_URL: 'postgres://stack/db' },
    )
    expect(r.env).toMatchObject({
      KAFKA_BROKERS: 'env:1',
      SCHEMA_REGISTRY_URL: 'http://dotenv',
      DATABASE_URL: 'postgres://stack/db',
      LOG_LEVEL: 'debug',
    })
    expect(r.sources).toEqual({
      KAFKA_BROKERS: 'environment',
      SCHEMA_REGISTRY_URL: '.env',
      DATABASE_URL: 'local stack',
    })
  })
})

describe('endpointsOf', () => {
  it('splits brokers as loadConfig does, and names what is not host:port', () => {
    expect(endpointsOf('KAFKA_BROKERS', 'a:9092, b:9093,')).toEqual([
      { host: 'a', port: 9092 },
      { host: 'b', port: 9093 },
    ])
    expect(endpointsOf('KAFKA_BROKERS', 'localhost,x:99999')).toBe("'localhost', 'x:99999' is not host:port")
  })

  it('checks URLs at their port or the protocol default, and skips a Unix socket', () => {
    expect(endpointsOf('DATABASE_URL', 'postgres://u:p@db/x')).toEqual([{ host: 'db', port: 5432 }])
    expect(endpointsOf('SCHEMA_REGISTRY_URL', 'http://[::1]:8081/apis')).toEqual([
      { host: '::1', port: 8081 },
    ])
    expect(endpointsOf('DATABASE_URL', 'postgres:///x?host=/var/run/postgresql')).toEqual([])
    expect(endpointsOf('DATABASE_URL', 'not a url')).toBe('is not a URL')
  })
})

describe('libpqEnv', () => {
  it('turns a URL into libpq variables, password included, so none is on the command line', async () => {
    const { libpqEnv } = await import('./psql.ts')
    expect(libpqEnv('postgres://stock%40flow:p%3Ass@127.0.0.1:15432/stockflow?sslmode=require')).toEqual({
      PGHOST: '127.0.0.1',
      PGPORT: '15432',
      PGUSER: 'stock@flow',
      PGPASSWORD: 'p:ss',
      PGDATABASE: 'stockflow',
      PGSSLMODE: 'require',
    })
    expect(libpqEnv('postgres:///x?host=/var/run/postgresql')).toEqual({
      PGHOST: '/var/run/postgresql',
      PGDATABASE: 'x',
    })
  })
})
