// Time labels under a per-minute bar chart (barChart in chart.ts): every few bars, counted back from the
// current minute so that the newest bar is always labelled. Kept apart from chart.ts, which draws the bars.
import type { Bar, Box, Tick } from './chart.ts'

/** Labels `HH:MMZ` at the centre of every `every`-th bar, the last bar included; y is the label's baseline. */
export function barTimeTicks(
  buckets: { t: number }[],
  bars: Pick<Bar, 'x' | 'width'>[],
  box: Pick<Box, 'height'>,
  every = 5,
): (Tick & { y: number })[] {
  const out: (Tick & { y: number })[] = []
  const last = Math.min(buckets.length, bars.length) - 1
  for (let i = last; i >= 0; i -= every) {
    const bar = bars[i]!
    out.unshift({
      at: Math.round((bar.x + bar.width / 2) * 10) / 10,
      y: box.height - 6,
      label: `${new Date(buckets[i]!.t).toISOString().slice(11, 16)}Z`,
    })
  }
  return out
}
