// Live charts with uPlot, from samples the app collects as it polls (the API gives current counts and
// rates; history is kept here, per chart, for as long as the tab lives, so leaving a page and coming back
// keeps its curve). Each chart is a <figure> with a caption and a text summary of its latest values, so
// what the canvas shows is also there for screen readers.
import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'

/** At most this many samples per chart (at 5 s each: half an hour) */
const MAX_SAMPLES = 360

interface SampleSeries {
  times: number[]
  values: number[][]
}

const histories = new Map<string, SampleSeries>()

export const historyOf = (key: string): SampleSeries | undefined => histories.get(key)

/** Adds one sample (one value per series) to the named history; returns the history */
export function addSample(key: string, values: number[], at = Date.now() / 1000): SampleSeries {
  let h = histories.get(key)
  if (!h || h.values.length !== values.length) {
    h = { times: [], values: values.map(() => []) }
    histories.set(key, h)
  }
  const last = h.times[h.times.length - 1]
  if (last !== undefined && at - last < 0.5) {
    // Two answers within half a second (a reload after an action): the newer replaces the older
    h.times.pop()
    for (const v of h.values) v.pop()
  }
  h.times.push(at)
  values.forEach((v, i) => h.values[i]!.push(v))
  if (h.times.length > MAX_SAMPLES) {
    h.times.shift()
    for (const v of h.values) v.shift()
  }
  return h
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
        {},
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
      scales: { y: { range: (_u: uPlot, _min: number, max: number) => [0, max > 0 ? max * 1.1 : 1] } },
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
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
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} class="chart-canvas" aria-hidden="true" />
      <p class="visually-hidden">Latest: {latest.join(', ')}</p>
      {(history?.times.length ?? 0) < 2 && <p class="muted small">Collecting samples…</p>}
    </figure>
  )
}
