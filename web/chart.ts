// Chart geometry for the console's inline SVG: numbers in, coordinates and labels out. The templates only
// place what this computes, so the drawing is tested without a browser.

export interface Box {
  width: number
  height: number
  /** Room for the axis labels: left, and bottom. */
  left: number
  bottom: number
}

export const DEFAULT_BOX: Box = { width: 640, height: 200, left: 48, bottom: 22 }

export interface Tick {
  at: number
  label: string
}

export interface StepChart {
  /** An SVG path: the level holds between movements, so it is drawn as steps. */
  path: string
  xTicks: Tick[]
  yTicks: Tick[]
  box: Box
}

/** 1, 2 or 5 times a power of ten: ticks people can read. */
export function niceStep(range: number, count: number): number {
  if (range <= 0) return 1
  const raw = range / Math.max(1, count)
  const power = 10 ** Math.floor(Math.log10(raw))
  const m = raw / power
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power
}

const round = (n: number) => Math.round(n * 10) / 10

function dateLabel(ms: number, spanMs: number): string {
  const iso = new Date(ms).toISOString()
  // Within two days the time says more than the date.
  return spanMs <= 2 * 86_400_000 ? `${iso.slice(11, 16)}Z` : iso.slice(0, 10)
}

/**
 * The level over time as steps, from points in time order. With one point the line is flat; with none
 * there is nothing to draw and the path is empty.
 */
export function stepChart(points: { t: number; level: number }[], box: Box = DEFAULT_BOX): StepChart {
  if (points.length === 0) return { path: '', xTicks: [], yTicks: [], box }
  const t0 = points[0]!.t
  const t1 = Math.max(points[points.length - 1]!.t, t0 + 1)
  const top = Math.max(1, ...points.map((p) => p.level))
  const step = niceStep(top, 4)
  const yMax = Math.ceil(top / step) * step
  const plotW = box.width - box.left - 8
  const plotH = box.height - box.bottom - 8
  const x = (t: number) => round(box.left + ((t - t0) / (t1 - t0)) * plotW)
  const y = (v: number) => round(8 + plotH - (Math.max(0, v) / yMax) * plotH)
  let path = `M${x(t0)} ${y(points[0]!.level)}`
  for (const p of points.slice(1)) path += ` H${x(p.t)} V${y(p.level)}`
  path += ` H${x(t1)}`
  const yTicks: Tick[] = []
  for (let v = 0; v <= yMax; v += step) yTicks.push({ at: y(v), label: String(v) })
  const xTicks = [0, 0.5, 1].map((f) => {
    const t = t0 + f * (t1 - t0)
    return { at: x(t), label: dateLabel(t, t1 - t0) }
  })
  return { path, xTicks, yTicks, box }
}

export interface Bar {
  x: number
  y: number
  width: number
  height: number
  /** For the bar's <title>: what a pointer or a screen reader gets. */
  label: string
}

/** One bar per bucket, scaled to the largest; buckets are in time order and of equal width. */
export function barChart(
  buckets: { t: number; count: number }[],
  box: Box = DEFAULT_BOX,
): { bars: Bar[]; yTicks: Tick[]; box: Box } {
  if (buckets.length === 0) return { bars: [], yTicks: [], box }
  const top = Math.max(1, ...buckets.map((b) => b.count))
  const step = niceStep(top, 3)
  const yMax = Math.ceil(top / step) * step
  const plotW = box.width - box.left - 8
  const plotH = box.height - box.bottom - 8
  const slot = plotW / buckets.length
  const bars = buckets.map((b, i) => {
    const h = round((b.count / yMax) * plotH)
    return {
      x: round(box.left + i * slot + 1),
      y: round(8 + plotH - h),
      width: round(Math.max(1, slot - 2)),
      height: h,
      label: `${new Date(b.t).toISOString().slice(11, 16)}Z: ${b.count} events`,
    }
  })
  const yTicks: Tick[] = []
  for (let v = 0; v <= yMax; v += step)
    yTicks.push({ at: round(8 + plotH - (v / yMax) * plotH), label: String(v) })
  return { bars, yTicks, box }
}

/** Per-minute counts for the last `minutes`, with the minutes that had none filled in as zero. */
export function fillMinutes(
  rows: { minute: Date; count: number }[],
  now: number,
  minutes: number,
): { t: number; count: number }[] {
  const byMinute = new Map(rows.map((r) => [Math.floor(r.minute.getTime() / 60_000), r.count]))
  const last = Math.floor(now / 60_000)
  const out: { t: number; count: number }[] = []
  for (let m = last - minutes + 1; m <= last; m++) out.push({ t: m * 60_000, count: byMinute.get(m) ?? 0 })
  return out
}
