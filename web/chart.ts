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

const DAY_MS = 86_400_000

type Format = (iso: string) => string
const day: Format = (iso) => iso.slice(0, 10)
const dayMinute: Format = (iso) => `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z`
const daySecond: Format = (iso) => `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`
const minute: Format = (iso) => `${iso.slice(11, 16)}Z`
const second: Format = (iso) => `${iso.slice(11, 19)}Z`
const milli: Format = (iso) => `${iso.slice(11, 23)}Z`

/**
 * Labels for the time axis's ticks, in time order: dates when the span is days, times of day when it lies
 * within one day (the first label also says which day), each label the shortest that still tells the ticks
 * apart. Ticks at one instant get one label between them; the caller shows it once.
 */
export function timeLabels(times: readonly number[]): string[] {
  if (times.length === 0) return []
  const isos = times.map((t) => new Date(t).toISOString())
  const first = times[0]!
  const last = times[times.length - 1]!
  const sameDay = day(isos[0]!) === day(isos[isos.length - 1]!)
  const candidates: { rest: Format; head: Format }[] =
    last - first >= 2 * DAY_MS
      ? [
          { head: day, rest: day },
          { head: dayMinute, rest: dayMinute },
        ]
      : sameDay
        ? [
            { head: dayMinute, rest: minute },
            { head: daySecond, rest: second },
            { head: (iso) => `${day(iso)} ${milli(iso)}`, rest: milli },
          ]
        : [
            { head: dayMinute, rest: dayMinute },
            { head: daySecond, rest: daySecond },
          ]
  for (const c of candidates) {
    // Distinct by the finer of the two formats, so the head's date cannot make two equal times look apart.
    const labels = isos.map((iso, i) => (i === 0 ? c.head(iso) : c.rest(iso)))
    const keys = isos.map((iso) => c.rest(iso))
    if (new Set(keys).size === keys.length) return labels
  }
  return isos.map((iso) => `${day(iso)} ${milli(iso)}`)
}

/**
 * The level over time as steps, from points in time order. With one point the line is flat; with none
 * there is nothing to draw and the path is empty.
 */
export function stepChart(points: { t: number; level: number }[], box: Box = DEFAULT_BOX): StepChart {
  if (points.length === 0) return { path: '', xTicks: [], yTicks: [], box }
  const t0 = points[0]!.t
  const t1 = Math.max(points[points.length - 1]!.t, t0 + 1)
  // A balance by business date can dip below zero (a sale dated before the delivery that covered it), so
  // the axis reaches down to the lowest point as well as up to the highest.
  const top = Math.max(1, ...points.map((p) => p.level))
  const low = Math.min(0, ...points.map((p) => p.level))
  const step = niceStep(top - low, 4)
  const yMax = Math.ceil(top / step) * step
  const yMin = Math.floor(low / step) * step
  const plotW = box.width - box.left - 8
  const plotH = box.height - box.bottom - 8
  const x = (t: number) => round(box.left + ((t - t0) / (t1 - t0)) * plotW)
  const y = (v: number) => round(8 + plotH - ((v - yMin) / (yMax - yMin)) * plotH)
  let path = `M${x(t0)} ${y(points[0]!.level)}`
  for (const p of points.slice(1)) path += ` H${x(p.t)} V${y(p.level)}`
  path += ` H${x(t1)}`
  const yTicks: Tick[] = []
  for (let v = yMin; v <= yMax; v += step) yTicks.push({ at: y(v), label: String(v) })
  const last = points[points.length - 1]!.t
  // Every movement at one instant (a single one, or a file dated all alike): one label, at the start.
  const tickTimes = last === t0 ? [t0] : [0, 0.5, 1].map((f) => t0 + f * (last - t0))
  const labels = timeLabels(tickTimes)
  const xTicks = tickTimes.map((t, i) => ({ at: x(t), label: labels[i]! }))
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
