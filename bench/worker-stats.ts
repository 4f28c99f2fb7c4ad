// The figures every run's progress line takes from its worker threads in the same way, whatever the workers
// do: the time since the previous line, the latencies recorded since then, and each kind of worker's busiest
// thread. LiveStats and RpcStats combine them with their own counters.
import { nowMillis } from './clock.js'
import { BUCKET_COUNT, addCounts, percentile } from './latency-histogram.js'
import type { BenchWorker } from './worker-pool.js'

/** Time since the start of the run and since the previous call, for per-second rates. */
export class IntervalClock {
  private previousAt: number

  constructor(private readonly startedAt: number) {
    this.previousAt = startedAt
  }

  /** `elapsed` and `interval` in seconds; the interval is at least 1 ms, so it can divide. */
  next(): { elapsed: number; interval: number } {
    const now = nowMillis()
    const interval = Math.max((now - this.previousAt) / 1000, 1e-3)
    this.previousAt = now
    return { elapsed: (now - this.startedAt) / 1000, interval }
  }
}

/** Latency percentiles of what a merged histogram gained since the previous call. */
export class IntervalLatency {
  private previous: Float64Array = new Float64Array(BUCKET_COUNT)

  /** In milliseconds; null if nothing was recorded in the interval. */
  next(histogram: Float64Array): { p50: number; p99: number } | null {
    const interval = histogram.slice()
    addCounts(interval, this.previous, -1)
    this.previous = histogram
    const p50 = percentile(interval, 50)
    return Number.isNaN(p50) ? null : { p50: p50 / 1000, p99: percentile(interval, 99) / 1000 }
  }
}

/** CPU use of the busiest thread among some workers, and its peak over the run. */
export class BusiestThreadCpu {
  /** in cores (0..1); null until an interval long enough to count */
  peak: number | null = null

  constructor(private readonly workers: readonly BenchWorker[]) {}

  /**
   * The busiest thread's CPU use since the last call, in cores, or null if unknown. Peaks only count
   * intervals long enough for /proc's 10 ms tick resolution.
   */
  next(): number | null {
    let busiest: { fraction: number; overMillis: number } | null = null
    for (const worker of this.workers) {
      const cpu = worker.cpuSinceLastCall()
      if (cpu !== null && (busiest === null || cpu.fraction > busiest.fraction)) busiest = cpu
    }
    if (busiest !== null && busiest.overMillis >= 500) this.peak = Math.max(this.peak ?? 0, busiest.fraction)
    return busiest?.fraction ?? null
  }
}
