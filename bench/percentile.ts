// Percentiles as the benches report them: nearest rank over sorted figures.

/** The p-th percentile (nearest rank) of figures sorted ascending; NaN for none. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN
}
