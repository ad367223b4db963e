// The launcher (bin/stockflow.js) on the Node a machine has: it hands over to a Node that runs
// stockflow, or explains in one paragraph what is needed. Needs an old Node on PATH or at /usr/bin/node
// (Debian's 20 on these machines, and in CI).
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const LAUNCHER = new URL('../bin/stockflow.js', import.meta.url).pathname
const OLD_NODE = process.env.STOCKFLOW_TEST_OLD_NODE ?? '/usr/bin/node'

const run = async (env: NodeJS.ProcessEnv, args: string[], cwd?: string) => {
  try {
    const r = await promisify(execFile)(OLD_NODE, [LAUNCHER, ...args], {
      cwd,
      env: { PATH: process.env.PATH, ...env },
    })
    return { code: 0, stdout: r.stdout, stderr: r.stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

describe('bin/stockflow.js on an old Node', () => {
  it('runs on an old Node here', async () => {
    const { stdout } = await promisify(execFile)(OLD_NODE, ['-p', 'process.versions.node.split(".")[0]'])
    expect(Number(stdout)).toBeLessThan(22)
  })

  it('explains in one paragraph, without a stack trace, when it may not fetch a Node', async () => {
    const cache = await mkdtemp(join(tmpdir(), 'stockflow-launcher-'))
    const r = await run({ STOCKFLOW_CACHE_DIR: cache, STOCKFLOW_NODE_DOWNLOAD: '0' }, ['stats'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^stockflow needs Node\.js 22\.22\.0 or newer .*STOCKFLOW_NODE_DOWNLOAD=0/)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  it('hands over to the Node in its cache folder', async () => {
    const cache = await mkdtemp(join(tmpdir(), 'stockflow-launcher-'))
    const bin = join(cache, 'node', 'node_modules', `node-${process.platform}-${process.arch}`, 'bin')
    await mkdir(bin, { recursive: true })
    await symlink(process.execPath, join(bin, 'node'))
    const r = await run({ STOCKFLOW_CACHE_DIR: cache, STOCKFLOW_NODE_DOWNLOAD: '0' }, ['--help'])
    expect(r).toMatchObject({ code: 0, stderr: '' })
    expect(r.stdout).toMatch(/^usage: stockflow <command>/)
    const bad = await run({ STOCKFLOW_CACHE_DIR: cache }, ['no-such-command'])
    expect(bad.code).toBe(64)
    expect(bad.stderr).toBe(
      "stockflow: 'no-such-command' is not a stockflow command. stockflow --help lists the commands.\n",
    )
  })

  it('finds its Node through STOCKFLOW_CACHE_DIR in .env, with ~/ expanded', async () => {
    const home = await mkdtemp(join(tmpdir(), 'stockflow-home-'))
    const bin = join(home, 'cache', 'node', 'node_modules', `node-${process.platform}-${process.arch}`, 'bin')
    await mkdir(bin, { recursive: true })
    await symlink(process.execPath, join(bin, 'node'))
    const folder = await mkdtemp(join(tmpdir(), 'stockflow-folder-'))
    await writeFile(join(folder, '.env'), 'STOCKFLOW_CACHE_DIR=~/cache\n')
    const r = await run({ HOME: home, STOCKFLOW_NODE_DOWNLOAD: '0' }, ['--version'], folder)
    expect(r).toMatchObject({ code: 0, stderr: '' })
    expect(r.stdout).toMatch(/^stockflow \d+\.\d+\.\d+ \(Node v/)
    expect(existsSync(join(folder, '~'))).toBe(false)
  })
})
