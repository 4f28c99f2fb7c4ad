// Live charts with uPlot, drawn from the history the API keeps (RabbitMQ's `*_details.samples`, asked for
// with `?msg_rates_age=600&msg_rates_incr=5`), so a fresh tab shows the last ten minutes at once. Each chart is a <figure> with a
// caption and a text summary of its latest values, so what the canvas shows is also there for screen readers.
import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'

/** The history the pages ask the API for: RabbitMQ's `?msg_rates_age=600&msg_rates_incr=5` and lengths_* */
export const HISTORY_AGE_S = 600
export const HISTORY_INCR_S = 5
export const HISTORY_QUERY =
  `lengths_age=${HISTORY_AGE_S}&lengths_incr=${HISTORY_INCR_S}` +
  `&msg_rates_age=${HISTORY_AGE_S}&msg_rates_incr=${HISTORY_INCR_S}`
/** With fewer than two points a chart shows this much recent time, not uPlot's range of years */
const MIN_WINDOW_S = 300

export interface SampleSeries {
  /** seconds since the epoch, oldest first */
  times: number[]
  values: number[][]
}

interface Samples {
  samples?: { sample: number; timestamp: number }[]
}

const samplesOf = (details: unknown): { sample: number; timestamp: number }[] =>
  typeof details === 'object' && details !== null ? ((details as Samples).samples ?? []) : []

/**
 * Gauges (queued messages) from the API's `*_details.samples`, one series per field; a field without
 * samples reads 0. The times are the first series' (the API puts every field of an object on one grid).
 */
export function gaugeSeries(details: unknown[]): SampleSeries {
  const grid = details.map(samplesOf).reduce((a, b) => (b.length > a.length ? b : a), [])
  const times = grid.map((s) => s.timestamp / 1000).reverse()
  const values = details.map((d) => {
    const byTime = new Map(samplesOf(d).map((s) => [s.timestamp / 1000, s.sample]))
    return times.map((t) => byTime.get(t) ?? 0)
  })
  return { times, values }
}

/**
 * Rates from counters' samples: the change per second between neighbouring samples, at the newer one's
 * time. The newest point is the API's own `rate` (over the last 5 to 10 s), which the samples' last step
 * (a partial interval) would understate.
 */
export function rateSeries(details: unknown[]): SampleSeries {
  const counters = gaugeSeries(details)
  const { times } = counters
  const values = counters.values.map((v, i) => {
    const rates = v.slice(1).map((x, k) => Math.max(0, (x - v[k]!) / (times[k + 1]! - times[k]! || 1)))
    const own = (details[i] as { rate?: number } | undefined)?.rate
    if (rates.length > 0 && typeof own === 'number') rates[rates.length - 1] = own
    return rates
  })
  return { times: times.slice(1), values }
}

export interface SeriesSpec {
  label: string
  color: string
}

interface ChartProps {
  title: string
  series: SeriesSpec[]
  history: SampleSeries | undefined
  /** How a value reads in the legend and the summary */
  format: (v: number) => string
  height?: number
}

export function TimeChart({ title, series, history, format, height = 180 }: ChartProps) {
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const data = (): uPlot.AlignedData => [history?.times ?? [], ...(history?.values ?? series.map(() => []))]

  useEffect(() => {
    const el = box.current
    if (!el) return undefined
    // The canvas cannot read CSS variables: the theme's colours are looked up once here
    const css = getComputedStyle(document.documentElement)
    const muted = css.getPropertyValue('--muted').trim() || '#666'
    const grid = css.getPropertyValue('--grid').trim() || '#eee'
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height,
      series: [
        { value: (_u: uPlot, v: number | null) => (v === null ? '–' : new Date(v * 1000).toLocaleTimeString()) },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          fill: s.color + '1a',
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : format(v)),
        })),
      ],
      axes: [
        { stroke: muted, grid: { stroke: grid }, ticks: { stroke: grid } },
        {
          stroke: muted,
          grid: { stroke: grid },
          ticks: { stroke: grid },
          size: 60,
          values: (_u: uPlot, splits: number[]) => splits.map(format),
        },
      ],
      scales: {
        // Never uPlot's automatic range for one point or none (it spans years): the last minutes up to now
        x: {
          time: true,
          range: (u: uPlot, min: number | null, max: number | null): [number, number] => {
            const n = u.data[0]?.length ?? 0
            if (n < 2 || min === null || max === null) {
              const now = Date.now() / 1000
              return [now - MIN_WINDOW_S, now]
            }
            // A minute at least, so two points 5 s apart do not fill the width
            return [Math.min(min, max - 60), max]
          },
        },
        y: { range: (_u: uPlot, _min: number, max: number) => [0, max > 0 ? max * 1.1 : 1] },
      },
      cursor: { drag: { x: false, y: false } },
      // The legend names the series; values show on hover (the summary below has the latest ones)
      legend: { live: false },
    }
    const u = new uPlot(opts, data(), el)
    plot.current = u
    const resize = new ResizeObserver(() => u.setSize({ width: Math.max(el.clientWidth, 200), height }))
    resize.observe(el)
    return () => {
      resize.disconnect()
      u.destroy()
      plot.current = null
    }
    // The series and format are fixed per chart; data updates go through setData below
  }, [height])

  useEffect(() => {
    plot.current?.setData(data())
  })

  const latest = series.map((s, i) => {
    const v = history?.values[i]
    const last = v?.[v.length - 1]
    return `${s.label} ${last === undefined ? '–' : format(last)}`
  })
  return (
    <figure class="chart" data-points={history?.times.length ?? 0}>
      <figcaption>{title}</figcaption>
      <div ref={box} class="chart-canvas" aria-hidden="true" />
      <p class="visually-hidden">Latest: {latest.join(', ')}</p>
      {(history?.times.length ?? 0) < 2 && <p class="muted small">No history yet: the next samples come in 5 s.</p>}
    </figure>
  )
}
