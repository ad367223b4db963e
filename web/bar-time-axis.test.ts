import { describe, expect, it } from 'vitest'
import { barTimeTicks } from './bar-time-axis.ts'
import { barChart, DEFAULT_BOX, fillMinutes } from './chart.ts'

describe('barTimeTicks', () => {
  it('labels every fifth minute back from the current one, under the bars’ centres', () => {
    const now = Date.parse('2026-12-05T07:14:30Z')
    const buckets = fillMinutes([], now, 15)
    const chart = barChart(buckets)
    const ticks = barTimeTicks(buckets, chart.bars, DEFAULT_BOX)
    expect(ticks.map((t) => t.label)).toEqual(['07:04Z', '07:09Z', '07:14Z'])
    expect(ticks.map((t) => t.at)).toEqual([223.2, 417.9, 612.6])
    expect(new Set(ticks.map((t) => t.y))).toEqual(new Set([DEFAULT_BOX.height - 6]))
  })
  it('labels a short chart’s only bar, and nothing without bars', () => {
    const buckets = [{ t: Date.parse('2026-12-05T23:59:00Z'), count: 3 }]
    expect(barTimeTicks(buckets, barChart(buckets).bars, DEFAULT_BOX).map((t) => t.label)).toEqual(['23:59Z'])
    expect(barTimeTicks([], [], DEFAULT_BOX)).toEqual([])
  })
})
