// What the stockflow image holds, read from the Dockerfile and .dockerignore, and what a compose service's
// command needs from it, read from the code: the files its entry imports (statically or on demand) and the
// files those modules open beside themselves (new URL('…', import.meta.url)). No Docker engine is needed.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, normalize, posix, relative } from 'node:path'

export interface ImageRecipe {
  /** WORKDIR: where relative COPY destinations and the command's relative paths land. */
  workdir: string
  /** Each COPY: a path in the build context and where it lands in the image (absolute). */
  copies: { from: string; to: string }[]
  /** ENTRYPOINT in exec form. */
  entrypoint: string[]
  /** .dockerignore's patterns: what never reaches the build, whatever COPY says. */
  ignored: string[]
}

export function readImageRecipe(dockerfile: string, dockerignore: string): ImageRecipe {
  let workdir = '/'
  const copies: ImageRecipe['copies'] = []
  let entrypoint: string[] = []
  for (const line of dockerfile.split('\n').map((l) => l.trim())) {
    const [instruction = '', ...args] = line.split(/\s+/)
    if (instruction === 'WORKDIR') workdir = posix.resolve(workdir, args.join(' '))
    if (instruction === 'ENTRYPOINT') entrypoint = JSON.parse(line.slice('ENTRYPOINT'.length)) as string[]
    // A stage's files (--from) are not the build context's; this image has one stage.
    if (instruction !== 'COPY' || args.some((a) => a.startsWith('--from'))) continue
    const paths = args.filter((a) => !a.startsWith('--'))
    const dest = posix.resolve(workdir, paths.pop() ?? '')
    const intoFolder = paths.length > 1 || /\/\.?$/.test(line)
    for (const from of paths) {
      const src = posix.normalize(from).replace(/\/$/, '')
      copies.push({ from: src, to: intoFolder ? posix.join(dest, posix.basename(src)) : dest })
    }
  }
  const ignored = dockerignore
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
  return { workdir, copies, entrypoint, ignored }
}

function ignoredBy(patterns: string[], file: string): boolean {
  return patterns.some((p) => {
    if (!p.includes('*')) return file === p || file.startsWith(`${p}/`)
    const re = new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`)
    return file.split('/').some((_, i, parts) => re.test(parts.slice(0, i + 1).join('/')))
  })
}

/** Where a file of the build context is in the image, or undefined when no COPY brings it. */
export function imagePathOf(recipe: ImageRecipe, file: string): string | undefined {
  if (ignoredBy(recipe.ignored, file)) return undefined
  for (const { from, to } of recipe.copies) {
    if (from === '.') return posix.join(to, file)
    if (file === from || file.startsWith(`${from}/`)) return to + file.slice(from.length)
  }
  return undefined
}

/** A context file is where the code expects it when the image holds it at WORKDIR/<same path>. */
export function inImage(recipe: ImageRecipe, file: string): boolean {
  return imagePathOf(recipe, file) === posix.join(recipe.workdir, file)
}

export interface Needs {
  /** Context-relative files (and folders opened whole) that the entry reaches. */
  files: Set<string>
  /** npm packages imported for their values (type-only imports vanish when Node strips types). */
  packages: Set<string>
}

const STATIC = /(?:^|[;\n}])\s*(import|export)\s+(type\s+)?(?:[^;'"`]*?\sfrom\s*)?'([^']+)'/g
const DYNAMIC = /\bimport\(\s*'([^']+)'\s*\)/g
const BESIDE = /new URL\(((?:[^()]|\([^()]*\))*?),\s*import\.meta\.url\)/g

function packageName(specifier: string): string {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier)
}

/**
 * Every file the entries reach. A dispatcher's own dynamic imports are skipped: it loads one command's
 * module, which is passed as an entry of its own.
 */
export function reachableFrom(root: string, entries: string[], dispatcher?: string): Needs {
  const files = new Set<string>()
  const packages = new Set<string>()
  const builtins = new Set(builtinModules)
  const visit = (file: string) => {
    if (files.has(file)) return
    files.add(file)
    const abs = join(root, file)
    if (!/\.(ts|js)$/.test(file) || !existsSync(abs) || statSync(abs).isDirectory()) return
    const text = readFileSync(abs, 'utf8')
    const here = dirname(abs)
    const follow = (specifier: string) => {
      if (specifier.startsWith('.')) visit(relative(root, join(here, specifier)))
      else if (!specifier.startsWith('node:') && !builtins.has(specifier))
        packages.add(packageName(specifier))
    }
    for (const m of text.matchAll(STATIC)) if (!m[2]) follow(m[3]!)
    if (file !== dispatcher) for (const m of text.matchAll(DYNAMIC)) follow(m[1]!)
    for (const m of text.matchAll(BESIDE)) {
      // Each literal the URL may be built from; a template's fixed start names the folder it reads.
      for (const lit of m[1]!.matchAll(/'(\.{1,2}\/[^']*)'|`(\.{1,2}\/[^`$]*)/g)) {
        const path = normalize(relative(root, join(here, lit[1] ?? lit[2]!))).replace(/\/$/, '')
        visit(path)
      }
    }
  }
  for (const e of entries) visit(e)
  return { files, packages }
}

/** The file that maps a command name to the module it loads. */
const DISPATCHER = 'bin/commands.ts'

/** The module bin/commands.ts loads for a command name, context-relative. */
export function commandModule(root: string, commandsFile: string, name: string): string | undefined {
  const text = readFileSync(join(root, commandsFile), 'utf8')
  const block = new RegExp(`\\n  ${name}: \\{([\\s\\S]*?)\\n  \\},`).exec(text)?.[1]
  const specifier = block && /import\('([^']+)'\)/.exec(block)?.[1]
  return specifier ? relative(root, join(root, dirname(commandsFile), specifier)) : undefined
}

/**
 * What a compose service on this image needs and the image lacks: files its entry reaches that no COPY
 * puts at WORKDIR/<same path> (or that do not exist), and packages that `npm ci --omit=dev` leaves out.
 */
export function missingFromImage(o: {
  root: string
  recipe: ImageRecipe
  command: string[]
  dependencies: Record<string, string>
}): string[] {
  const { root, recipe, command } = o
  const inWorkdir = (p: string) => posix.relative(recipe.workdir, posix.resolve(recipe.workdir, p))
  const script = recipe.entrypoint.find((a) => /\.[jt]s$/.test(a))
  const module = commandModule(root, DISPATCHER, command[0] ?? '')
  if (!script || !module) return [`no entry for ${JSON.stringify(command)}`]
  // Paths a command is given (relative to WORKDIR, or under it) must be in the image as well.
  const given = command
    .slice(1)
    .filter((a) => !a.startsWith('-') && a.includes('/'))
    .map(inWorkdir)
  const needs = reachableFrom(root, [inWorkdir(script), module, ...given], DISPATCHER)
  return [
    ...[...needs.files].filter((f) => !existsSync(join(root, f)) || !inImage(recipe, f)),
    ...[...needs.packages].filter((p) => !(p in o.dependencies)).map((p) => `package ${p}`),
  ].sort()
}

/** The names compose interpolates (${NAME}, ${NAME:-default}, $NAME); $$ is a literal dollar. */
export function composeVariables(text: string): string[] {
  const names = new Set<string>()
  for (const m of text.matchAll(/(?<!\$)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))/g))
    names.add((m[1] ?? m[2])!)
  return [...names].sort()
}

/** The keys sample.env names, set or commented out. */
export function sampleEnvKeys(text: string): Set<string> {
  return new Set([...text.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!))
}
