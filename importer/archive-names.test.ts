import { basename } from 'node:path'
import { describe, expect, it } from 'vitest'
import { outputPath } from '../ledger/input-folder.ts'
import { isShortenedOutput, mustBeAbsent, namesOf, ownedInFolder, ownersOf } from './archive-names.ts'

describe('archive names', () => {
  it('a file takes its own name, its receipt and its rejected rows', () => {
    expect(namesOf('/in/processed/storeA.csv')).toEqual([
      '/in/processed/storeA.csv',
      '/in/processed/storeA.csv.receipt.json',
      '/in/processed/storeA.csv.rejected.csv',
    ])
  })

  it('a repaired file named after rejected rows is owned by the file they came from', () => {
    expect(ownersOf('/in/processed/uploads/storeA.csv.rejected.csv')).toEqual([
      '/in/processed/uploads/storeA.csv',
    ])
    expect(ownersOf('/in/processed/storeA.csv')).toEqual([])
    expect(ownersOf('/in/processed/.rejected.csv')).toEqual([])
  })

  it('lists every name that must be absent, the owner and its receipt included', () => {
    expect(mustBeAbsent('/in/processed/storeA.csv.rejected.csv')).toEqual([
      '/in/processed/storeA.csv.rejected.csv',
      '/in/processed/storeA.csv.rejected.csv.receipt.json',
      '/in/processed/storeA.csv.rejected.csv.rejected.csv',
      '/in/processed/storeA.csv',
      '/in/processed/storeA.csv.receipt.json',
    ])
  })

  it('finds the owner of a shortened output among the names of its folder', () => {
    const long = `${'ü'.repeat(120)}.csv`
    const rejected = outputPath(`/in/processed/${long}`, '.rejected.csv')
    expect(isShortenedOutput(rejected)).toBe(true)
    // A file named like the shortened stem would own it as well; the long file is found in the folder.
    expect(ownersOf(rejected)).toEqual([rejected.slice(0, -'.rejected.csv'.length)])
    expect(ownedInFolder(rejected, ['other.csv', long])).toBe(true)
    expect(ownedInFolder(rejected, ['other.csv'])).toBe(false)
    expect(ownedInFolder('/in/processed/storeA.csv', [long])).toBe(false)
    expect(isShortenedOutput(`/in/${basename(rejected).replace('.rejected.csv', '.csv')}`)).toBe(false)
  })
})
