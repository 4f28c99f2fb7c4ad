import type { BrokerProbe } from './broker-probe.js'
import { mergeHistograms } from './latency-histogram.js'
import { sumCounters, type CounterTotals } from './worker-counters.js'
import type { BenchWorker } from './worker-pool.js'
import { BusiestThreadCpu, IntervalClock, IntervalLatency } from './worker-stats.js'

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
  readonly publisherCpu: BusiestThreadCpu
  readonly consumerCpu: BusiestThreadCpu
  private readonly clock: IntervalClock
  private readonly latency = new IntervalLatency()
  private previousPublished: CounterTotals
  private previousConsumed: CounterTotals

  constructor(
    private readonly publishers: readonly BenchWorker[],
    private readonly consumers: readonly BenchWorker[],
    private readonly probe: BrokerProbe | null,
    startedAt: number,
  ) {
    this.publisherCpu = new BusiestThreadCpu(publishers)
    this.consumerCpu = new BusiestThreadCpu(consumers)
    this.clock = new IntervalClock(startedAt)
    this.previousPublished = this.publisherTotals()
    this.previousConsumed = this.consumerTotals()
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
    const { elapsed, interval } = this.clock.next()
    const published = this.publisherTotals()
    const consumed = this.consumerTotals()
    const latencyMillis = this.latency.next(this.mergedHistogram())
    const cpu = this.sampleCpu()

    const progress: ProgressSample = {
      seconds: elapsed,
      publishedPerSecond: (published.sent - this.previousPublished.sent) / interval,
      confirmedPerSecond: (published.confirmed - this.previousPublished.confirmed) / interval,
      consumedPerSecond: (consumed.received - this.previousConsumed.received) / interval,
      backlog: published.sent - consumed.received,
      latencyMillis,
      brokerRssBytes: this.probe ? this.probe.sample().rssBytes : null,
      publisherCpu: cpu.publisher,
      consumerCpu: cpu.consumer,
    }
    this.previousPublished = published
    this.previousConsumed = consumed
    return progress
  }

  /** CPU use of the busiest thread of each kind since the last call (see BusiestThreadCpu). */
  sampleCpu(): { publisher: number | null; consumer: number | null } {
    return { publisher: this.publisherCpu.next(), consumer: this.consumerCpu.next() }
  }
}
