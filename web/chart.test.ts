import { describe, expect, it } from 'vitest'
import { barChart, DEFAULT_BOX, fillMinutes, niceStep, stepChart, timeLabels } from './chart.ts'

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
    // Two seconds of movements: times to the second, the first saying which day.
    expect(c.xTicks.map((t) => t.label)).toEqual(['1970-01-01 00:00:00Z', '00:00:01Z', '00:00:02Z'])
  })

  it('reaches below zero for a balance by business date that dips under it', () => {
    const c = stepChart([
      { t: 0, level: -30 },
      { t: 1000, level: 20 },
      { t: 2000, level: 120 },
    ])
    expect(c.yTicks.map((t) => t.label)).toEqual(['-50', '0', '50', '100', '150'])
    // From -50 (y 178) to 150 (y 8): zero one step of four up, -30 at 178 - 20/200 * 170.
    expect(c.yTicks[1]!.at).toBe(135.5)
    expect(c.path).toBe('M48 161 H340 V118.5 H632 V33.5 H632')
  })

  it('labels the axis once for movements that all share one instant', () => {
    const t = Date.parse('2024-05-01T13:00:00Z')
    const c = stepChart([
      { t, level: 5 },
      { t, level: 9 },
    ])
    expect(c.xTicks).toEqual([{ at: 48, label: '2024-05-01 13:00Z' }])
  })

  it('draws nothing without points, and a flat line for one', () => {
    expect(stepChart([]).path).toBe('')
    expect(stepChart([{ t: 5, level: 3 }]).path).toBe('M48 8 H632')
  })
})

describe('timeLabels', () => {
  const at = (iso: string) => Date.parse(iso)

  it('writes dates when the span is days', () => {
    expect(
      timeLabels([at('2024-05-01T13:00:00Z'), at('2024-05-16T01:00:00Z'), at('2024-05-31T13:00:00Z')]),
    ).toEqual(['2024-05-01', '2024-05-16', '2024-05-31'])
  })

  it('writes times within one day, the first with its date', () => {
    expect(
      timeLabels([at('2024-05-01T09:00:00Z'), at('2024-05-01T13:30:00Z'), at('2024-05-01T18:00:00Z')]),
    ).toEqual(['2024-05-01 09:00Z', '13:30Z', '18:00Z'])
  })

  it('takes seconds, then milliseconds, until the labels differ', () => {
    expect(
      timeLabels([at('2024-05-01T13:00:00Z'), at('2024-05-01T13:00:00.500Z'), at('2024-05-01T13:00:01Z')]),
    ).toEqual(['2024-05-01 13:00:00.000Z', '13:00:00.500Z', '13:00:01.000Z'])
  })

  it('writes the date and time when a short span crosses midnight', () => {
    expect(
      timeLabels([at('2024-05-01T20:00:00Z'), at('2024-05-02T02:00:00Z'), at('2024-05-02T08:00:00Z')]),
    ).toEqual(['2024-05-01 20:00Z', '2024-05-02 02:00Z', '2024-05-02 08:00Z'])
  })

  it('never repeats a label across two days a day and a half apart', () => {
    const labels = timeLabels([
      at('2024-05-01T00:00:00Z'),
      at('2024-05-01T18:00:00Z'),
      at('2024-05-02T12:00:00Z'),
    ])
    expect(labels).toEqual(['2024-05-01 00:00Z', '2024-05-01 18:00Z', '2024-05-02 12:00Z'])
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
