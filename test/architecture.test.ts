// The layout's promises, checked on the source: the command line and the console reach the ledger's shared
// code, never a service's insides, and no module imports itself through others.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(new URL('..', import.meta.url).pathname)
const FOLDERS = [
  'alerter',
  'bench',
  'bin',
  'importer',
  'infra',
  'ledger',
  'lib',
  'ops',
  'processor',
  'schemas',
  'web',
]

function sources(): string[] {
  return FOLDERS.flatMap((f) =>
    readdirSync(join(ROOT, f), { recursive: true, encoding: 'utf8' })
      .filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts'))
      .map((n) => join(f, n)),
  )
}

/** Each module's imports of other modules of the project, as paths from the root. */
function graph(): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const file of sources()) {
    const text = readFileSync(join(ROOT, file), 'utf8')
    const deps = [...text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+\.ts)'/g)].map((m) =>
      relative(ROOT, resolve(dirname(join(ROOT, file)), m[1]!)),
    )
    out.set(file, deps)
  }
  return out
}

describe('architecture', () => {
  it('ops/ and web/ import neither processor/ nor importer/', () => {
    const crossings = [...graph()].flatMap(([file, deps]) =>
      /^(ops|web)\//.test(file)
        ? deps.filter((d) => /^(processor|importer)\//.test(d)).map((d) => `${file} -> ${d}`)
        : [],
    )
    expect(crossings).toEqual([])
  })

  it('has no import cycle', () => {
    const g = graph()
    const state = new Map<string, 'open' | 'done'>()
    const cycles: string[] = []
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].join(' -> '))
        return
      }
      state.set(file, 'open')
      for (const d of g.get(file) ?? []) visit(d, [...path, file])
      state.set(file, 'done')
    }
    for (const file of g.keys()) visit(file, [])
    expect(cycles).toEqual([])
  })
})
