// How numbers read on screen: counts with thousands separators, sizes in binary units, rates per second,
// durations in the largest units that matter.

export const count = (n: number | undefined): string => (n === undefined ? '–' : n.toLocaleString('en-US'))

export function bytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let i = 0
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`
}

export const rate = (r: number | undefined): string =>
  r === undefined ? '–' : `${r.toLocaleString('en-US', { maximumFractionDigits: r < 10 ? 1 : 0 })}/s`

export function duration(ms: number | undefined): string {
  if (ms === undefined) return '–'
  const s = Math.floor(ms / 1000)
  const d = Math.floor(s / 86400)
  const h = Math.floor((s % 86400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  if (d > 0) return `${d}d ${h}h`
  if (h > 0) return `${h}h ${m}m`
  if (m > 0) return `${m}m ${s % 60}s`
  return `${s}s`
}

/** A vhost as shown beside an object when every vhost is listed */
export const vhostLabel = (v: string): string => v

/** Arguments, headers and definitions as one short line: k=v, k=v */
export function keyValues(o: Record<string, unknown> | undefined): string {
  if (!o) return ''
  return Object.entries(o)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ')
}
