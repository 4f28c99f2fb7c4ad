import { TIMESTAMP_BYTES } from './clock.js'
import { LiveStats, type ProgressSample } from './live-stats.js'
import type { BenchOptions } from './options.js'
import { brokerSummary, latencySummary, rateFigures, type BenchResult } from './results.js'
import { runWorkers, shutDown, type FinishedRun, type RunHooks, type Verdict } from './run-workers.js'
import type { BenchWorker } from './worker-pool.js'

/** A publish/consume run: consumers subscribe, then publishers publish until the count or the duration. */
export function runBench(options: BenchOptions, hooks: RunHooks<ProgressSample>): Promise<BenchResult> {
  return runWorkers(options, hooks, {
    blockedNotice: 'broker blocked publishers',
    receivers: {
      count: options.consumers,
      spec: (common) => ({
        role: 'consumer',
        ...common,
        multiAck: options.multiAck,
        measureLatency: options.size >= TIMESTAMP_BYTES,
      }),
    },
    senders: {
      count: options.publishers,
      spec: (common) => ({
        role: 'publisher',
        ...common,
        messageLimit: options.count,
        confirmWindow: options.confirm,
        ratePerSecond: options.rate,
      }),
    },
    stats: (publishers, consumers, probe, startedAt) => new LiveStats(publishers, consumers, probe, startedAt),
    verdict: (publishers, stats) => drainVerdict(options, publishers, stats, hooks.signal),
    result: collectResult,
    shutDown: (publishers, consumers) => shutDown([...publishers, ...consumers]),
  })
}

function collectResult(run: FinishedRun<LiveStats>, progress: ProgressSample[]): BenchResult {
  const { settings, stats, startedAt, endedAt } = run
  const published = stats.publisherTotals()
  const consumed = stats.consumerTotals()
  // A publisher that never finished (run failed or stuck) published until now
  const publishedUntil = stats.allPublishersFinished() ? published.lastActivityMillis : endedAt

  return {
    settings,
    published:
      settings.publishers === 0
        ? null
        : {
            ...rateFigures(published.sent, (publishedUntil - startedAt) / 1000, settings.size),
            confirmed: published.confirmed,
            nacked: published.nacked,
          },
    consumed:
      settings.consumers === 0
        ? null
        : rateFigures(
            consumed.received,
            consumed.received > 0 ? (consumed.lastActivityMillis - startedAt) / 1000 : 0,
            settings.size,
          ),
    latencyMillis: latencySummary(stats.mergedHistogram(), consumed.maxLatencyMicros),
    broker: brokerSummary(run.probe),
    tool: {
      node: process.version,
      cpuPercent: run.toolCpuPercent,
      peakPublisherCpu: stats.publisherCpu.peak,
      peakConsumerCpu: stats.consumerCpu.peak,
    },
    incomplete: run.incomplete,
    progress,
  }
}

/**
 * The run is over once publishing has stopped (count reached, duration
 * elapsed or aborted) and the consumers have caught up or gone quiet.
 */
function drainVerdict(
  options: BenchOptions,
  publishers: readonly BenchWorker[],
  stats: LiveStats,
  interrupted: AbortSignal,
): Verdict {
  const drainMillis = options.drainTimeout * 1000
  let publishingEndedAt: number | null = null

  return (now, stopSentAt) => {
    if (publishingEndedAt === null) {
      if (stats.allPublishersFinished() && (options.duration === null || stopSentAt !== null)) {
        publishingEndedAt = now
      } else if (stopSentAt !== null && now - stopSentAt > drainMillis) {
        // e.g. a broker alarm blocks them with publishes or confirms outstanding
        return `publishers did not finish within the ${options.drainTimeout} s drain timeout after being stopped`
      } else {
        return undefined
      }
    }

    if (options.consumers === 0 || interrupted.aborted) return null
    const published = stats.publisherTotals()
    const consumed = stats.consumerTotals()
    // Without publishers, count mode means "consume this many"
    const expected = publishers.length > 0 ? published.sent - published.nacked : (options.count ?? 0)
    if (consumed.received >= expected) return null
    // Count mode waits as long as deliveries keep coming; duration mode drains briefly
    const quietSince =
      options.count !== null ? Math.max(publishingEndedAt, consumed.lastActivityMillis) : publishingEndedAt
    if (now - quietSince > drainMillis) {
      return `${expected - consumed.received} of ${expected} messages not consumed within the ${options.drainTimeout} s drain timeout`
    }
    return undefined
  }
}
