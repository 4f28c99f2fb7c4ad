import type { BrokerProbe } from './broker-probe.js'
import { nowMillis } from './clock.js'
import { BUCKET_COUNT, addCounts, mergeHistograms, percentile } from './latency-histogram.js'
import { sumCounters, type CounterTotals } from './worker-counters.js'
import type { BenchWorker } from './worker-pool.js'

/** One progress line's worth of figures, over the last interval. */
export interface ProgressSample {
  seconds: number
  publishedPerSecond: number
  confirmedPerSecond: number
  consumedPerSecond: number
  /** published but not yet consumed, in total so far */
  backlog: number
  /** latency percentiles of this interval's deliveries, null if none */
  latencyMillis: { p50: number; p99: number } | null
  brokerRssBytes: number | null
  /** CPU use of the busiest publisher/consumer thread, in cores (0..1) */
  publisherCpu: number | null
  consumerCpu: number | null
}

/** Samples the workers' shared counters and histograms from the main thread. */
export class LiveStats {
  peakPublisherCpu: number | null = null
  peakConsumerCpu: number | null = null
  private previousPublished: CounterTotals
  private previousConsumed: CounterTotals
  private previousHistogram: Float64Array = new Float64Array(BUCKET_COUNT)
  private previousAt: number

  constructor(
    private readonly publishers: readonly BenchWorker[],
    private readonly consumers: readonly BenchWorker[],
    private readonly probe: BrokerProbe | null,
    private readonly startedAt: number,
  ) {
    this.previousPublished = this.publisherTotals()
    this.previousConsumed = this.consumerTotals()
    this.previousAt = startedAt
    this.sampleCpu()
  }

  allPublishersFinished(): boolean {
    return this.publishers.every((publisher) => publisher.isFinished)
  }

  publisherTotals(): CounterTotals {
    return sumCounters(this.publishers.map((worker) => worker.counters))
  }

  consumerTotals(): CounterTotals {
    return sumCounters(this.consumers.map((worker) => worker.counters))
  }

  mergedHistogram(): Float64Array {
    return mergeHistograms(this.consumers)
  }

  /** Figures since the previous call. */
  sample(): ProgressSample {
    const now = nowMillis()
    const seconds = Math.max((now - this.previousAt) / 1000, 1e-3)
    const published = this.publisherTotals()
    const consumed = this.consumerTotals()
    const histogram = this.mergedHistogram()
    const interval = histogram.slice()
    addCounts(interval, this.previousHistogram, -1)
    const p50 = percentile(interval, 50)
    const cpu = this.sampleCpu()

    const progress: ProgressSample = {
      seconds: (now - this.startedAt) / 1000,
      publishedPerSecond: (published.sent - this.previousPublished.sent) / seconds,
      confirmedPerSecond: (published.confirmed - this.previousPublished.confirmed) / seconds,
      consumedPerSecond: (consumed.received - this.previousConsumed.received) / seconds,
      backlog: published.sent - consumed.received,
      latencyMillis: Number.isNaN(p50) ? null : { p50: p50 / 1000, p99: percentile(interval, 99) / 1000 },
      brokerRssBytes: this.probe ? this.probe.sample().rssBytes : null,
      publisherCpu: cpu.publisher,
      consumerCpu: cpu.consumer,
    }
    this.previousAt = now
    this.previousPublished = published
    this.previousConsumed = consumed
    this.previousHistogram = histogram
    return progress
  }

  /**
   * CPU use of the busiest thread of each kind since the last call. Peaks
   * only count intervals long enough for /proc's 10 ms tick resolution.
   */
  sampleCpu(): { publisher: number | null; consumer: number | null } {
    const busiest = (workers: readonly BenchWorker[]): { fraction: number; overMillis: number } | null => {
      let max: { fraction: number; overMillis: number } | null = null
      for (const worker of workers) {
        const cpu = worker.cpuSinceLastCall()
        if (cpu !== null && (max === null || cpu.fraction > max.fraction)) max = cpu
      }
      return max
    }
    const publisher = busiest(this.publishers)
    const consumer = busiest(this.consumers)
    if (publisher !== null && publisher.overMillis >= 500) {
      this.peakPublisherCpu = Math.max(this.peakPublisherCpu ?? 0, publisher.fraction)
    }
    if (consumer !== null && consumer.overMillis >= 500) {
      this.peakConsumerCpu = Math.max(this.peakConsumerCpu ?? 0, consumer.fraction)
    }
    return { publisher: publisher?.fraction ?? null, consumer: consumer?.fraction ?? null }
  }
}
