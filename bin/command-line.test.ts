import { describe, expect, it } from 'vitest'
import { editDistance, readCommandLine, suggestCommand, unknownCommandMessage } from './command-line.ts'

const NAMES = ['importer', 'processor', 'alerter', 'web', 'import', 'tail', 'stats', 'start', 'psql', 'stack']

describe('editDistance', () => {
  it('counts a swap of neighbours as one slip', () => {
    expect(editDistance('strat', 'start')).toBe(1)
    expect(editDistance('tial', 'tail')).toBe(1)
    expect(editDistance('stats', 'stats')).toBe(0)
    expect(editDistance('', 'web')).toBe(3)
    expect(editDistance('kitten', 'sitting')).toBe(3)
  })
})

describe('suggestCommand', () => {
  it('suggests the command a slip came from', () => {
    expect(suggestCommand('strat', NAMES)).toBe('start')
    expect(suggestCommand('stast', NAMES)).toBe('stats')
    expect(suggestCommand('proccesor', NAMES)).toBe('processor')
    expect(suggestCommand('Tail', NAMES)).toBe('tail')
    expect(suggestCommand('imprt', NAMES)).toBe('import')
  })

  it('completes a beginning that only one command has', () => {
    expect(suggestCommand('proc', NAMES)).toBe('processor')
    expect(suggestCommand('ps', NAMES)).toBe('psql')
  })

  it('suggests nothing for what is nothing like a command', () => {
    expect(suggestCommand('deploy', NAMES)).toBeUndefined()
    expect(suggestCommand('x', NAMES)).toBeUndefined()
    expect(suggestCommand('', NAMES)).toBeUndefined()
  })
})

describe('readCommandLine', () => {
  it('reads help and the version, with or without dashes', () => {
    for (const argv of [[], ['--help'], ['-h'], ['help']])
      expect(readCommandLine(argv, NAMES)).toEqual({ kind: 'help' })
    for (const argv of [['--version'], ['-V'], ['version']])
      expect(readCommandLine(argv, NAMES)).toEqual({ kind: 'version' })
  })

  it('names an unknown command or option, with a suggestion when one is near', () => {
    expect(readCommandLine(['strat', '--x'], NAMES)).toEqual({
      kind: 'unknown',
      given: 'strat',
      suggestion: 'start',
    })
    expect(readCommandLine(['--verbose'], NAMES)).toEqual({
      kind: 'unknown',
      given: '--verbose',
      suggestion: undefined,
    })
  })

  it("sees a command's --help anywhere before --, and psql's only first", () => {
    expect(readCommandLine(['tail', 'events', '--help'], NAMES)).toEqual({
      kind: 'command',
      name: 'tail',
      args: ['events', '--help'],
      help: true,
    })
    expect(readCommandLine(['tail', '--', '--help'], NAMES)).toMatchObject({ help: false })
    expect(readCommandLine(['psql', '-c', 'select 1', '-h', 'db'], NAMES, ['psql'])).toMatchObject({
      help: false,
    })
    expect(readCommandLine(['psql', '--help'], NAMES, ['psql'])).toMatchObject({ help: true })
  })
})

describe('unknownCommandMessage', () => {
  it('says what was typed and what was probably meant', () => {
    expect(unknownCommandMessage('strat', 'start')).toBe(
      "stockflow: 'strat' is not a stockflow command. Did you mean 'stockflow start'? stockflow --help lists the commands.",
    )
    expect(unknownCommandMessage('--verbose', undefined)).toBe(
      "stockflow: '--verbose' is not an option. stockflow --help lists the commands.",
    )
  })
})
