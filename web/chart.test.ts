import { describe, expect, it } from 'vitest'
import { barChart, DEFAULT_BOX, fillMinutes, niceStep, stepChart } from './chart.ts'

describe('stepChart', () => {
  it('draws the level as steps across the plot, with readable ticks', () => {
    const c = stepChart([
      { t: 0, level: 0 },
      { t: 1000, level: 40 },
      { t: 2000, level: 25 },
    ])
    // x from 48 to 632 (640 - 8); y from 178 (zero) up to 8 (the top tick, 40): 25 is at 178 - 25/40 * 170.
    expect(c.path).toBe('M48 178 H340 V8 H632 V71.8 H632')
    expect(c.yTicks.map((t) => t.label)).toEqual(['0', '10', '20', '30', '40'])
    expect(c.xTicks.map((t) => t.label)).toEqual(['00:00Z', '00:00Z', '00:00Z'])
  })

  it('draws nothing without points, and a flat line for one', () => {
    expect(stepChart([]).path).toBe('')
    expect(stepChart([{ t: 5, level: 3 }]).path).toBe('M48 8 H632')
  })
})

describe('barChart', () => {
  it('scales bars to the largest bucket', () => {
    const { bars, yTicks } = barChart([
      { t: 0, count: 10 },
      { t: 60_000, count: 5 },
    ])
    expect(bars.map((b) => b.height)).toEqual([170, 85])
    expect(bars[1]!.label).toBe('00:01Z: 5 events')
    expect(yTicks.at(-1)!.label).toBe('10')
    expect(bars[0]!.x).toBe(DEFAULT_BOX.left + 1)
  })
})

describe('niceStep and fillMinutes', () => {
  it('picks 1, 2 or 5 times a power of ten', () => {
    expect([niceStep(40, 4), niceStep(7, 4), niceStep(900, 4), niceStep(0, 4)]).toEqual([10, 2, 500, 1])
  })
  it('fills minutes without events with zero', () => {
    const now = 10 * 60_000 + 5_000
    expect(fillMinutes([{ minute: new Date(9 * 60_000), count: 7 }], now, 3)).toEqual([
      { t: 8 * 60_000, count: 0 },
      { t: 9 * 60_000, count: 7 },
      { t: 10 * 60_000, count: 0 },
    ])
  })
})
