// What the first words of `stockflow …` ask for, decided without touching the environment, so that help,
// the version and a mistyped command never wait for a stack.

/** The exit code of every usage error (sysexits.h's EX_USAGE), whichever command found it. */
export const USAGE_EXIT = 64

export type CommandLine =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'unknown'; given: string; suggestion: string | undefined }
  | { kind: 'command'; name: string; args: string[]; help: boolean }

const HELP = new Set(['--help', '-h', 'help'])
const VERSION = new Set(['--version', '-V', 'version'])

/**
 * Edit distance where inserting, deleting or changing a letter, or swapping two neighbours, costs one
 * (optimal string alignment): `strat` is one slip from `start`, not two.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1)
      d[i]![j] = best
    }
  }
  return d[a.length]![b.length]!
}

/**
 * The command a mistyped name most likely meant: the only one it begins, else the nearest within
 * one edit for a name of up to three letters and two for a longer one. Ties go to the earlier command.
 */
export function suggestCommand(given: string, names: readonly string[]): string | undefined {
  const typed = given.toLowerCase()
  if (typed.length === 0) return undefined
  const prefixed = names.filter((n) => n.startsWith(typed))
  if (prefixed.length === 1) return prefixed[0]
  const limit = typed.length <= 3 ? 1 : 2
  let best: { name: string; distance: number } | undefined
  for (const name of names) {
    const distance = editDistance(typed, name)
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { name, distance }
  }
  return best?.name
}

/**
 * Reads `stockflow [--help | --version | COMMAND [ARGS…]]`. A pass-through command (psql) hands its
 * arguments to another program, where `-h` means something else: only a first `--help` or `-h` is ours.
 */
export function readCommandLine(
  argv: readonly string[],
  names: readonly string[],
  passThrough: readonly string[] = [],
): CommandLine {
  const [first, ...args] = argv
  if (first === undefined || HELP.has(first)) return { kind: 'help' }
  if (VERSION.has(first)) return { kind: 'version' }
  if (!names.includes(first))
    return { kind: 'unknown', given: first, suggestion: suggestCommand(first, names) }
  const asks = (a: string | undefined) => a === '--help' || a === '-h'
  if (passThrough.includes(first)) return { kind: 'command', name: first, args, help: asks(args[0]) }
  // `--` ends the options: what follows is an operand, even when it reads `--help`.
  const end = args.indexOf('--')
  const options = end === -1 ? args : args.slice(0, end)
  return { kind: 'command', name: first, args, help: options.some(asks) }
}

/** The words for a name that is not a command. */
export function unknownCommandMessage(given: string, suggestion: string | undefined): string {
  const what = given.startsWith('-') ? `'${given}' is not an option` : `'${given}' is not a stockflow command`
  return suggestion === undefined
    ? `stockflow: ${what}. stockflow --help lists the commands.`
    : `stockflow: ${what}. Did you mean 'stockflow ${suggestion}'? stockflow --help lists the commands.`
}
