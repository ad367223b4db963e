// Cells of the CSV files stockflow writes for people (rejected rows, the console's exports): a cell a
// spreadsheet would run as a formula is guarded with a leading quote, and a cell is quoted whenever it
// holds a character some spreadsheet splits fields on. Comma is the file's separator, but a spreadsheet
// set to a semicolon list separator (much of Europe) splits on `;`, and `x;=cmd|…` would then start a
// field with a formula: so `;` is quoted too.

/**
 * A cell a spreadsheet would run as a formula becomes text; the characters stay readable. A cell that
 * already starts with quotes before such a character gets one more, so that restoreCell gives back
 * exactly what was written (`'-5` stays `'-5`).
 */
export function neutraliseCell(value: string): string {
  return /^'*[=+\-@\t\r]/.test(value) ? `'${value}` : value
}

/** The inverse, for a repaired file dropped again, or a page showing a cell as it was written. */
export function restoreCell(value: string): string {
  return /^'+[=+\-@\t\r]/.test(value) ? value.slice(1) : value
}

/** One text cell: guarded, then quoted when it holds a separator, a quote or a line break. */
export function csvTextCell(value: string): string {
  const safe = neutraliseCell(value)
  return /[",;\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe
}
