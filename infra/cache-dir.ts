// Where the local stack keeps what it downloads (Kafka's jars, Apicurio, the Maven repository that fetches
// them, a current Node). STOCKFLOW_CACHE_DIR comes from the environment or from `.env`, and `.env` is not
// read by a shell: `~` and `$HOME` arrive as written, and taken literally they made a folder named `~` in
// the checkout. So `~` is expanded here, as a shell would, and what a shell would have to expand is refused.
import { homedir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'

/**
 * The cache folder for a STOCKFLOW_CACHE_DIR value: unset or empty is ~/.cache/stockflow; `~` and `~/…`
 * are under `home`; a relative path is taken from `cwd` and made absolute. `~user/…` and `$VAR` are errors.
 */
export function resolveCacheDir(value: string | undefined, home: string, cwd: string): string {
  const v = value?.trim()
  if (v === undefined || v === '') return join(home, '.cache', 'stockflow')
  if (v.includes('$')) {
    throw new Error(
      `STOCKFLOW_CACHE_DIR=${v}: variables are not expanded in .env; write the path out, or start it with ~/`,
    )
  }
  if (v === '~') return home
  if (v.startsWith('~/')) return join(home, v.slice(2))
  if (v.startsWith('~')) {
    throw new Error(`STOCKFLOW_CACHE_DIR=${v}: only ~/ (your own home) is understood; write the path out`)
  }
  return isAbsolute(v) ? v : resolve(cwd, v)
}

/** STOCKFLOW_CACHE_DIR from settings already layered (environment over `.env`), as an absolute path. */
export function cacheDirOf(env: NodeJS.ProcessEnv): string {
  return resolveCacheDir(env.STOCKFLOW_CACHE_DIR, homedir(), process.cwd())
}
