import { describe, expect, it } from 'vitest'
import { resolveCacheDir } from './cache-dir.ts'

const home = '/home/ann'
const cwd = '/work/shop'

describe('STOCKFLOW_CACHE_DIR', () => {
  it('defaults to ~/.cache/stockflow when unset or blank', () => {
    expect(resolveCacheDir(undefined, home, cwd)).toBe('/home/ann/.cache/stockflow')
    expect(resolveCacheDir('  ', home, cwd)).toBe('/home/ann/.cache/stockflow')
  })

  it('expands ~ as a shell would, which .env cannot', () => {
    expect(resolveCacheDir('~/.cache/stockflow', home, cwd)).toBe('/home/ann/.cache/stockflow')
    expect(resolveCacheDir('~', home, cwd)).toBe('/home/ann')
    expect(resolveCacheDir('~/a/../b', home, cwd)).toBe('/home/ann/b')
  })

  it('keeps an absolute path and anchors a relative one in the folder', () => {
    expect(resolveCacheDir('/var/cache/stockflow', home, cwd)).toBe('/var/cache/stockflow')
    expect(resolveCacheDir('.cache', home, cwd)).toBe('/work/shop/.cache')
  })

  it('refuses what only a shell could expand, instead of making a folder of that name', () => {
    expect(() => resolveCacheDir('~bob/cache', home, cwd)).toThrow(
      'STOCKFLOW_CACHE_DIR=~bob/cache: only ~/ (your own home) is understood; write the path out',
    )
    expect(() => resolveCacheDir('$HOME/.cache/stockflow', home, cwd)).toThrow(
      'STOCKFLOW_CACHE_DIR=$HOME/.cache/stockflow: variables are not expanded in .env; write the path out, or start it with ~/',
    )
  })
})
