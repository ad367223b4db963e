// The command line as a person meets it: help for every command, the version, a mistyped command, and one
// exit code for every usage error, all answered without a stack (run in an empty folder, nothing set).
import { execFile } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { USAGE_EXIT } from './command-line.ts'

const LAUNCHER = new URL('./stockflow.js', import.meta.url).pathname
const folder = mkdtempSync(join(tmpdir(), 'stockflow-cli-'))
const bare = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !/^(KAFKA_|SCHEMA_REGISTRY_|DATABASE_|STOCKFLOW_|STACK_|LOG_LEVEL|npm_)/.test(k),
  ),
)

async function stockflow(...args: string[]) {
  try {
    const r = await promisify(execFile)(process.execPath, [LAUNCHER, ...args], { cwd: folder, env: bare })
    return { code: 0, stdout: r.stdout, stderr: r.stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

const COMMANDS = [
  'importer',
  'processor',
  'alerter',
  'web',
  'import',
  'tail',
  'redrive',
  'revert',
  'stats',
  'offsets',
  'migrate',
  'start',
  'psql',
  'stack',
]

describe('stockflow on the command line, with no stack', () => {
  it('lists every command, the exit codes, and how to get help', async () => {
    const r = await stockflow('--help')
    expect(r).toMatchObject({ code: 0, stderr: '' })
    expect(r.stdout).toMatch(/^usage: stockflow <command> \[options\]\n/)
    for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c} +\\S`, 'm'))
    expect(r.stdout).toContain(`${USAGE_EXIT} usage error`)
  })

  it.each(COMMANDS)('%s --help prints its usage on stdout and exits 0', async (command) => {
    const r = await stockflow(command, '--help')
    expect(r).toMatchObject({ code: 0, stderr: '' })
    expect(r.stdout).toMatch(new RegExp(`^usage: stockflow ${command}\\b`))
  })

  it('prints its version', async () => {
    const r = await stockflow('--version')
    expect(r).toMatchObject({ code: 0, stderr: '' })
    expect(r.stdout).toMatch(/^stockflow \d+\.\d+\.\d+ \(Node v\d+\.\d+\.\d+\)\n$/)
  })

  it('names a mistyped command and suggests the one meant', async () => {
    const r = await stockflow('strat')
    expect(r).toEqual({
      code: USAGE_EXIT,
      stdout: '',
      stderr:
        "stockflow: 'strat' is not a stockflow command. Did you mean 'stockflow start'? stockflow --help lists the commands.\n",
    })
  })

  it('reports a flag error before it looks for a stack, with the usage exit code', async () => {
    const flag = await stockflow('tail', 'events', '--frm-beginning')
    expect(flag.code).toBe(USAGE_EXIT)
    expect(flag.stderr).toMatch(/^stockflow tail: Unknown option '--frm-beginning'/)
    expect(flag.stderr).not.toContain('no local stack')
    const value = await stockflow('stats', '--window', 'soon')
    expect(value.code).toBe(USAGE_EXIT)
    expect(value.stderr).toContain("'soon' is not a duration")
    expect(value.stderr).not.toContain('no local stack')
    const extra = await stockflow('processor', 'now')
    expect(extra).toMatchObject({
      code: USAGE_EXIT,
      stderr: expect.stringContaining("takes no arguments, got 'now'"),
    })
    const none = await stockflow('import')
    expect(none.code).toBe(USAGE_EXIT)
    expect(none.stderr).toContain('Name at least one FILE.')
  })

  it('with the arguments right, says which setting is missing, with exit code 1', async () => {
    const r = await stockflow('tail', 'events')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('KAFKA_BROKERS is not set, and no local stack is running in this folder')
  })

  it('migrate asks for DATABASE_URL alone', async () => {
    const r = await stockflow('migrate')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      /^stockflow migrate: DATABASE_URL is not set, and no local stack is running in this folder\./,
    )
    expect(r.stderr).not.toContain('KAFKA_BROKERS')
  })
})
