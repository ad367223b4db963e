// Operator commands as a person runs them, through the launcher, against the test stack: a one-shot import
// whose stdout is its result alone, tail of a topic that does not exist, migrate with DATABASE_URL alone.
import { execFile } from 'node:child_process'
import { copyFile, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createTestContext, type TestContext, uniqueName } from './support/context.ts'

const LAUNCHER = new URL('../bin/stockflow.js', import.meta.url).pathname
const EXAMPLE = new URL('../examples/example.csv', import.meta.url)

/** A fresh terminal's environment: no stockflow settings but the ones given. */
function bareEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) =>
        !/^(KAFKA_|SCHEMA_REGISTRY_|DATABASE_|TOPIC_|STACK_|PROCESS_|IMPORT|ALERT|INPUT_DIR|LOG_LEVEL)/.test(
          k,
        ),
    ),
  )
  return { ...env, ...extra }
}

async function stockflow(cwd: string, env: NodeJS.ProcessEnv, args: string[]) {
  const started = Date.now()
  try {
    const r = await promisify(execFile)(process.execPath, [LAUNCHER, ...args], { cwd, env, timeout: 60_000 })
    return { code: 0, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr, ms: Date.now() - started }
  }
}

describe('operator commands through the launcher', () => {
  let ctx: TestContext
  let folder: string
  beforeAll(async () => {
    ctx = await createTestContext('cli_tools')
    folder = await mkdtemp(join(tmpdir(), 'stockflow-cli-tools-'))
  })
  afterAll(async () => {
    await ctx.close()
  })

  it('a one-shot import prints its result on stdout and nothing else, logs at info included', async () => {
    const file = join(folder, 'example.csv')
    await copyFile(EXAMPLE, file)
    const r = await stockflow(folder, bareEnv({ ...ctx.env, LOG_LEVEL: 'info' }), ['import', file])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(
      new RegExp(
        `^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: processed, 9 rows, 9 accepted, 0 rejected, \\d+ rows/s\\n$`,
      ),
    )
  })

  it('tail of a topic that does not exist says so at once, naming the topics there are', async () => {
    const missing = uniqueName('no_such_topic')
    const r = await stockflow(folder, bareEnv(ctx.env), ['tail', missing, '--from-beginning'])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(
      new RegExp(
        `^stockflow tail: topic '${missing}' does not exist; the broker has .*\\b${ctx.config.topics.events}\\b`,
      ),
    )
    expect(r.ms).toBeLessThan(15_000)
  })

  it('migrate runs with DATABASE_URL and nothing else set', async () => {
    const schema = uniqueName('migrate_only')
    const r = await stockflow(
      folder,
      bareEnv({ DATABASE_URL: inject('stack').DATABASE_URL, DATABASE_SCHEMA: schema }),
      ['migrate'],
    )
    expect(r.code).toBe(0)
    // The result on stdout; the log of each migration applied on stderr.
    expect(r.stdout).toMatch(/^applied 001, 002, /)
    expect(r.stdout.split('\n').filter((l) => l.startsWith('{'))).toEqual([])
    expect(r.stderr).toContain('"msg":"migration applied"')
    await ctx.sql.unsafe(`drop schema "${schema}" cascade`)
  })
})
