import type { ChannelModel } from 'amqplib'
import type { BrokerProbe } from './broker-probe.js'
import { startRun } from './run-start.js'
import { TIMESTAMP_BYTES, nowMillis, sleep } from './clock.js'
import { percentile, totalCount } from './latency-histogram.js'
import { LiveStats, type ProgressSample } from './live-stats.js'
import type { BenchOptions } from './options.js'
import { rateFigures, type BenchResult } from './results.js'
import { removeTopology, type Topology } from './topology.js'
import { BenchWorker, type WorkerSpec } from './worker-pool.js'
import type { ControlMessage } from './worker-protocol.js'

/** How often the main thread checks whether the run is over; bounds the error in its end time. */
export const POLL_MILLIS = 20
export const PROGRESS_MILLIS = 1000
const WORKER_EXIT_TIMEOUT_MILLIS = 5000

export interface RunHooks {
  /** the queue is ready and the workers are about to start */
  started(settings: BenchResult['settings']): void
  progress(sample: ProgressSample): void
  notice(text: string): void
  /** aborting stops publishing at once and skips the drain */
  signal: AbortSignal
}

export async function runBench(options: BenchOptions, hooks: RunHooks): Promise<BenchResult> {
  const { probe, setup, topology, settings, failure, rejectRun, untilFailure, onEvent } = await startRun(
    options,
    hooks,
    'broker blocked publishers',
  )
  const spawn = (spec: WorkerSpec): BenchWorker => new BenchWorker(spec, onEvent, rejectRun)
  const consumers: BenchWorker[] = []
  const publishers: BenchWorker[] = []

  try {
    // With no publishers the consumers start draining as soon as they subscribe
    const consumeStartedAt = nowMillis()
    for (let index = 1; index <= options.consumers; index++) {
      consumers.push(
        spawn({
          role: 'consumer',
          index,
          url: options.url,
          queue: topology.queue,
          noAck: options.ack === 'auto',
          prefetch: options.prefetch,
          multiAck: options.multiAck,
          measureLatency: options.size >= TIMESTAMP_BYTES,
        }),
      )
    }
    await untilFailure(Promise.all(consumers.map((worker) => worker.ready)))
    for (let index = 1; index <= options.publishers; index++) {
      publishers.push(
        spawn({
          role: 'publisher',
          index,
          url: options.url,
          exchange: options.exchange,
          routingKey: topology.routingKey,
          bodySize: options.size,
          messageLimit: options.count,
          confirmWindow: options.confirm,
          persistent: options.persistent,
          ratePerSecond: options.rate,
        }),
      )
    }
    await untilFailure(Promise.all(publishers.map((worker) => worker.ready)))

    const startedAt = publishers.length > 0 ? nowMillis() : consumeStartedAt
    const cpuAtStart = process.cpuUsage()
    probe?.restartCpuMeasurement()
    const stats = new LiveStats(publishers, consumers, probe, startedAt)
    for (const publisher of publishers) publisher.send({ type: 'start' })

    const progress: ProgressSample[] = []
    const incomplete = await untilFailure(
      superviseRun(options, publishers, stats, startedAt, hooks, failure.signal, (sample) => {
        progress.push(sample)
        hooks.progress(sample)
      }),
    )
    stats.sampleCpu()
    probe?.sample()
    return collectResult({ settings, stats, probe, startedAt, cpuAtStart, incomplete, progress })
  } finally {
    await shutDown([...publishers, ...consumers])
    await cleanUp(setup, topology, hooks)
  }
}

interface RunRecord {
  settings: BenchResult['settings']
  stats: LiveStats
  probe: BrokerProbe | null
  startedAt: number
  cpuAtStart: NodeJS.CpuUsage
  incomplete: string | null
  progress: ProgressSample[]
}

function collectResult(run: RunRecord): BenchResult {
  const { settings, stats, probe, startedAt } = run
  const endedAt = nowMillis()
  const published = stats.publisherTotals()
  const consumed = stats.consumerTotals()
  const histogram = stats.mergedHistogram()
  const latencySamples = totalCount(histogram)
  const maxMicros = consumed.maxLatencyMicros
  const at = (pct: number): number => percentile(histogram, pct, maxMicros) / 1000
  const cpu = process.cpuUsage(run.cpuAtStart)
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
    latencyMillis:
      latencySamples === 0
        ? null
        : { samples: latencySamples, p50: at(50), p75: at(75), p95: at(95), p99: at(99), max: maxMicros / 1000 },
    broker: probe && { pid: probe.pid, peakRssBytes: probe.peakRssBytes, cpuPercent: probe.cpuPercent() },
    tool: {
      node: process.version,
      cpuPercent: ((cpu.user + cpu.system) / 1000 / (endedAt - startedAt)) * 100,
      peakPublisherCpu: stats.peakPublisherCpu,
      peakConsumerCpu: stats.peakConsumerCpu,
    },
    incomplete: run.incomplete,
    progress: run.progress,
  }
}

/**
 * Waits until the run is over: publishing has stopped (count reached,
 * duration elapsed or aborted) and the consumers have caught up or gone
 * quiet. Returns why the run is incomplete, or null.
 */
async function superviseRun(
  options: BenchOptions,
  publishers: readonly BenchWorker[],
  stats: LiveStats,
  startedAt: number,
  hooks: RunHooks,
  failed: AbortSignal,
  onProgress: (sample: ProgressSample) => void,
): Promise<string | null> {
  const durationEndsAt = options.duration === null ? Infinity : startedAt + options.duration * 1000
  const drainMillis = options.drainTimeout * 1000
  let stopSentAt: number | null = null
  let publishingEndedAt: number | null = null
  let nextProgressAt = startedAt + PROGRESS_MILLIS

  for (;;) {
    await sleep(POLL_MILLIS)
    if (failed.aborted) return null // the run's outcome is the failure, reported elsewhere
    const now = nowMillis()
    if (stopSentAt === null && (now >= durationEndsAt || hooks.signal.aborted)) {
      for (const publisher of publishers) publisher.send({ type: 'stop' })
      stopSentAt = now
    }
    if (now >= nextProgressAt) {
      onProgress(stats.sample())
      nextProgressAt = Math.max(nextProgressAt + PROGRESS_MILLIS, now + PROGRESS_MILLIS / 2)
    }
    if (publishingEndedAt === null) {
      if (stats.allPublishersFinished() && (options.duration === null || stopSentAt !== null)) {
        publishingEndedAt = now
      } else if (stopSentAt !== null && now - stopSentAt > drainMillis) {
        // e.g. a broker alarm blocks them with publishes or confirms outstanding
        return `publishers did not finish within the ${options.drainTimeout} s drain timeout after being stopped`
      } else {
        continue
      }
    }

    if (options.consumers === 0 || hooks.signal.aborted) return null
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
  }
}

/** Tells the workers to stop (or `message`) and waits for them to exit, terminating stragglers. */
export async function shutDown(
  workers: readonly BenchWorker[],
  message: ControlMessage = { type: 'stop' },
): Promise<void> {
  for (const worker of workers) worker.send(message)
  let timer: NodeJS.Timeout | undefined
  const timedOut = await Promise.race([
    Promise.all(workers.map((worker) => worker.exited)).then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), WORKER_EXIT_TIMEOUT_MILLIS))),
  ])
  clearTimeout(timer)
  if (timedOut) await Promise.all(workers.filter((worker) => !worker.isExited).map((worker) => worker.terminate()))
}

/** Deletes what the run declared and closes the setup connection; failures are only a notice. */
export async function cleanUp(setup: ChannelModel, topology: Topology, hooks: Pick<RunHooks, 'notice'>): Promise<void> {
  try {
    await removeTopology(setup, topology)
    await setup.close()
  } catch (error) {
    hooks.notice(`cleanup failed: ${error instanceof Error ? error.message : String(error)}`)
  }
}
