// `npm run bench:web`: the console's server time on a big ledger. Fills a private Postgres with
// --stock rows of stock (default 100,000) and --journal movements (default 1,000,000), then requests stock
// searches, item pages, item ledgers and balance reports through the real server, reading as
// stockflow_web, and prints percentiles of the time Fastify spent on each (reply.elapsedTime). One item
// (store 1, item 1) gets every 25th movement, 40,000 of the default million, as the busiest file
// had 41,000 rows. It asserts nothing: it prints what it saw.
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { createPostgresServer } from '../infra/postgres-server.ts'
import { loadConfig } from '../lib/config.ts'
import { createSql, migrate } from '../lib/db.ts'
import { createLogger } from '../lib/log.ts'
import { createWebServer } from '../web/server.ts'
import { percentile } from './percentile.ts'

const { values: args } = parseArgs({
  options: {
    stock: { type: 'string', default: '100000' },
    journal: { type: 'string', default: '1000000' },
    requests: { type: 'string', default: '200' },
    json: { type: 'boolean', default: false },
  },
})
const STOCK = Number(args.stock)
const JOURNAL = Number(args.journal)
const REQUESTS = Number(args.requests)
const STORES = 1000
const ITEMS = Math.max(1, Math.ceil(STOCK / STORES))
const say = (msg: string) => console.error(`[bench:web] ${msg}`)

const pg = createPostgresServer({ dataDir: resolve('.stack/bench-web'), port: 22532 })
await pg.start()
const schema = 'web_bench'
const owner = createSql({ url: pg.url, schema, max: 2, name: 'bench-web-owner' })
try {
  await owner.unsafe(`drop schema if exists ${schema} cascade`)
  await migrate(owner, { schema })
  const filled = Date.now()
  // Stock: STORES stores × ITEMS items; every seventh item low, every thirteenth out of stock.
  await owner`
    insert into stock_levels (store_number, item_number, quantity, last_transaction_id, low_state, updated_at)
    select s, i, case when i % 13 = 0 then 0 when i % 7 = 0 then 3 else 100 + (s * 31 + i * 17) % 900 end,
           gen_random_uuid(), case when i % 13 = 0 then 2 when i % 7 = 0 then 1 else 0 end,
           now() - make_interval(secs => (s * i) % 86400)
    from generate_series(1, ${STORES}) s, generate_series(1, ${ITEMS}) i
    limit ${STOCK}`
  // The journal: JOURNAL movements spread over the items, incoming then sales, over the last 30 days.
  await owner`
    insert into stock_journal (transaction_id, event_type, occurred_at, store_number, item_number, quantity,
                               applied_at, source_file, source_line, topic, partition, "offset", delta, quantity_after)
    select id, type, occurred_at, store, item, qty, applied_at, file, line, 'events', n % 6, n, delta,
           -- Only the page's figures are measured: the running balance need not end at stock_levels here.
           greatest(0, sum(delta) over (partition by store, item order by n))
    from (
      select n, gen_random_uuid() as id, case when n % 3 = 0 then 'sale' else 'incoming' end as type,
             now() - make_interval(secs => n % 2592000) as occurred_at,
             case when n % 25 = 0 then 1 else 1 + (n % ${STORES}) end as store,
             case when n % 25 = 0 then 1 else 1 + ((n / ${STORES}) % ${ITEMS}) end as item, 1 + n % 50 as qty,
             now() - make_interval(secs => (${JOURNAL} - n) * 2) as applied_at, 'bench-' || (n / 10000) || '.csv' as file,
             2 + n % 10000 as line, case when n % 3 = 0 then -(1 + n % 50) else 1 + n % 50 end as delta
      from generate_series(1, ${JOURNAL}) n
    ) g
    order by n`
  await owner`analyze`
  say(`${STOCK} stock rows and ${JOURNAL} journal rows in ${Math.round((Date.now() - filled) / 1000)} s`)

  const sql = createSql({ url: pg.webUrl, schema, max: 4, name: 'bench-web' })
  const config = loadConfig({
    KAFKA_BROKERS: '127.0.0.1:1',
    SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1',
    DATABASE_URL: pg.url,
    DATABASE_SCHEMA: schema,
    INPUT_DIR: '.stack/bench-web/input',
  })
  const app = await createWebServer({
    sql,
    log: createLogger({ name: 'web', level: 'warn' }),
    clock: Date.now,
    config,
    redriveSend: undefined,
    pipeline: { lag: async () => ({}), readiness: async () => [] },
  })
  const times = new Map<string, number[]>()
  let current = ''
  app.addHook('onResponse', async (_req, reply) => {
    if (reply.statusCode !== 200) throw new Error(`bench: ${current} answered ${reply.statusCode}`)
    times.get(current)?.push(reply.elapsedTime)
  })
  await app.ready()
  const rand = (n: number) => 1 + Math.floor(Math.random() * n)
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10)
  const kinds: Record<string, () => string> = {
    'stock, first page': () => '/stock',
    'stock, one store': () => `/stock?store=${rand(STORES)}`,
    'stock, item range': () => {
      const from = rand(ITEMS)
      return `/stock?item=${from}-${Math.min(ITEMS, from + 9)}`
    },
    'stock, low, by quantity': () => `/stock?state=low&sort=quantity&dir=desc&page=${rand(20)}`,
    'stock, deep page by update': () => `/stock?sort=updated&dir=desc&page=${rand(STOCK / 50)}`,
    'item page': () => `/items/${rand(STORES)}/${rand(ITEMS)}`,
    'item ledger': () => `/items/${rand(STORES)}/${rand(ITEMS)}/ledger`,
    'item ledger, a week, sales': () =>
      `/items/${rand(STORES)}/${rand(ITEMS)}/ledger?from=${day(-14)}&to=${day(-8)}&type=sale`,
    'ledger, busiest item': () => '/items/1/1/ledger',
    'ledger, busiest, last page': () => `/items/1/1/ledger?page=${Math.ceil(JOURNAL / 25 / 50)}`,
    'balance, one store': () => `/balance?store=${rand(STORES)}`,
    'balance, a week, all': () => `/balance?from=${day(-14)}&to=${day(-8)}`,
    'balance, per item, as of': () => `/balance?by=item&to=${day(-rand(20))}`,
  }
  // The reports over the whole journal aggregate every row; fewer of them say as much.
  const heavy = new Set(['balance, a week, all', 'balance, per item, as of'])
  const results: Record<string, { p50: number; p95: number; max: number }> = {}
  for (const [kind, url] of Object.entries(kinds)) {
    current = kind
    times.set(kind, [])
    const n = heavy.has(kind) ? Math.min(REQUESTS, 20) : REQUESTS
    for (let i = 0; i < Math.min(10, n); i++) await app.inject(url()) // warm the plans and the cache
    times.set(kind, [])
    for (let i = 0; i < n; i++) await app.inject(url())
    const sorted = (times.get(kind) ?? []).sort((a, b) => a - b)
    const at = (p: number) => +percentile(sorted, p).toFixed(1)
    results[kind] = { p50: at(50), p95: at(95), max: at(100) }
    say(
      `${kind.padEnd(30)} p50 ${results[kind].p50} ms  p95 ${results[kind].p95} ms  max ${results[kind].max} ms`,
    )
  }
  await app.close()
  await sql.end({ timeout: 5 })
  if (args.json) console.log(JSON.stringify({ stock: STOCK, journal: JOURNAL, requests: REQUESTS, results }))
} finally {
  await owner.end({ timeout: 5 })
  await pg.stop()
}
