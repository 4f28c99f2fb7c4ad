/**
 * A fixed-size log-linear histogram of latencies in microseconds, in the
 * spirit of HdrHistogram: exact below 128 µs, then 64 sub-buckets per power
 * of two (under 1% relative error). The counts live in a Float64Array so a
 * consumer worker can record into a SharedArrayBuffer that the main thread
 * reads and merges without any message passing.
 */

const LINEAR_LIMIT = 128
const SUB_BUCKETS = 64
const MAX_SHIFT = 32 - 7
/** Buckets needed to cover 0 .. 2^32 µs (about 71 minutes). */
export const BUCKET_COUNT = LINEAR_LIMIT + MAX_SHIFT * SUB_BUCKETS
const MAX_RECORDABLE = 2 ** 32 - 1

export function bucketIndex(micros: number): number {
  const value = micros <= 0 ? 0 : micros >= MAX_RECORDABLE ? MAX_RECORDABLE : Math.floor(micros)
  if (value < LINEAR_LIMIT) return value
  const shift = 32 - Math.clz32(value) - 7
  return LINEAR_LIMIT + (shift - 1) * SUB_BUCKETS + (Math.floor(value / 2 ** shift) - SUB_BUCKETS)
}

/** The smallest value and the width of a bucket. */
function bucketRange(index: number): { low: number; width: number } {
  if (index < LINEAR_LIMIT) return { low: index, width: 1 }
  const offset = index - LINEAR_LIMIT
  const shift = Math.floor(offset / SUB_BUCKETS) + 1
  const subBucket = (offset % SUB_BUCKETS) + SUB_BUCKETS
  return { low: subBucket * 2 ** shift, width: 2 ** shift }
}

export function createHistogramBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(BUCKET_COUNT * Float64Array.BYTES_PER_ELEMENT)
}

export function recordLatency(counts: Float64Array, micros: number): void {
  counts[bucketIndex(micros)]! += 1
}

export function totalCount(counts: Float64Array): number {
  let total = 0
  for (let i = 0; i < counts.length; i++) total += counts[i]!
  return total
}

/** Adds `source` into `target`, or subtracts it when `sign` is -1. */
export function addCounts(target: Float64Array, source: Float64Array, sign: 1 | -1 = 1): void {
  for (let i = 0; i < target.length; i++) target[i]! += sign * source[i]!
}

/**
 * The value at a percentile (0..100) in microseconds: the middle of the
 * bucket that holds it, capped at `maxMicros` when known. NaN if empty.
 */
/** The sum of several workers' histograms (workers without one are skipped). */
export function mergeHistograms(workers: Iterable<{ readonly histogram: Float64Array | null }>): Float64Array {
  const merged = new Float64Array(BUCKET_COUNT)
  for (const worker of workers) if (worker.histogram) addCounts(merged, worker.histogram)
  return merged
}

export function percentile(counts: Float64Array, pct: number, maxMicros = Infinity): number {
  const total = totalCount(counts)
  if (total === 0) return NaN
  const rank = Math.max(1, Math.ceil((pct / 100) * total))
  let seen = 0
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!
    if (seen >= rank) {
      const { low, width } = bucketRange(i)
      return Math.min(low + (width - 1) / 2, maxMicros)
    }
  }
  return maxMicros
}
