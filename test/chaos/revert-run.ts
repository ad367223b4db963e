// `stockflow revert` run for real during the chaos run, as an operator would: once the file it undoes has
// been applied, through the CLI, and simply run again when a fault makes it fail (it is idempotent).
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Sql } from '../../lib/db.ts'
import type { CorrectionTruth } from './corrections.ts'

const BIN = fileURLToPath(new URL('../../bin/commands.ts', import.meta.url))
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'ignore'] })
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.on('exit', (code) => resolve({ code, out }))
  })
}

export interface RevertRun {
  ok: boolean
  attempts: number
  published: number | null
  error?: string
}

export async function revertDuringRun(deps: {
  sql: Sql
  env: NodeJS.ProcessEnv
  revert: CorrectionTruth['revert']
  say: (line: string) => void
  timeoutMs: number
}): Promise<RevertRun> {
  const deadline = Date.now() + deps.timeoutMs
  const ids = deps.revert.originals
  for (;;) {
    const [r] = await deps.sql`
      select count(distinct transaction_id)::int as n from stock_journal where transaction_id = any(${ids}::uuid[])`.catch(
      () => [{ n: -1 }],
    )
    if (r?.n === ids.length) break
    if (Date.now() > deadline) return { ok: false, attempts: 0, published: null, error: 'file never applied' }
    await sleep(500)
  }
  let attempts = 0
  while (Date.now() < deadline) {
    attempts++
    const { code, out } = await runCli(['revert', deps.revert.file], deps.env)
    if (code === 0) {
      const summary = JSON.parse(out.split('\n')[0]!) as { published: number }
      deps.say(`revert of ${deps.revert.file} published ${summary.published} after ${attempts} attempt(s)`)
      return { ok: true, attempts, published: summary.published }
    }
    await sleep(3000)
  }
  return { ok: false, attempts, published: null, error: 'revert never succeeded' }
}
