import { describe, expect, it } from 'vitest'
import { csvTextCell, neutraliseCell, restoreCell } from './csv-guard.ts'

describe('csv guard', () => {
  it('guards what a spreadsheet would run, and restores it', () => {
    for (const v of ['=SUM(A1)', '+1', '-3', '@x', '\tx', '\rx']) {
      expect(neutraliseCell(v)).toBe(`'${v}`)
      expect(restoreCell(neutraliseCell(v))).toBe(v)
    }
    expect(neutraliseCell('plain')).toBe('plain')
    expect(restoreCell("'plain")).toBe("'plain")
  })
  it('gives back a cell that was written with quotes before a formula character, exactly', () => {
    for (const v of ["'=x", "'-5", "''+1"]) {
      expect(neutraliseCell(v)).toBe(`'${v}`)
      expect(restoreCell(neutraliseCell(v))).toBe(v)
    }
  })
  it('quotes a cell holding a comma, a semicolon, a quote or a line break', () => {
    expect(csvTextCell("x;=cmd|' /C calc'!A0.csv")).toBe(`"x;=cmd|' /C calc'!A0.csv"`)
    expect(csvTextCell('a,b')).toBe('"a,b"')
    expect(csvTextCell('say "hi"')).toBe('"say ""hi"""')
    expect(csvTextCell('-3')).toBe("'-3")
    expect(csvTextCell('=a;b')).toBe(`"'=a;b"`)
  })
})
