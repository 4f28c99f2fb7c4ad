import type { BrokerProbe } from './broker-probe.js'
import { startRun } from './run-start.js'
import { nowMillis, sleep } from './clock.js'
import { BUCKET_COUNT, addCounts, mergeHistograms, percentile, totalCount } from './latency-histogram.js'
import type { BenchOptions } from './options.js'
import type { RpcProgressSample, RpcResult } from './results.js'
import { POLL_MILLIS, PROGRESS_MILLIS, cleanUp, shutDown, type RunHooks } from './run.js'
import { Counter, sumCounters, type CounterTotals } from './worker-counters.js'
import { BenchWorker, type WorkerSpec } from './worker-pool.js'

export interface RpcRunHooks extends Pick<RunHooks, 'notice' | 'signal'> {
  /** the request queue is ready and the workers are about to start */
  started(settings: RpcResult['settings']): void
  progress(sample: RpcProgressSample): void
}

/**
 * An RPC run: servers consume the request queue, then clients start, each
 * keeping its window of requests in flight until the count is reached or
 * the duration is over; then the outstanding requests are awaited.
 */
export async function runRpcBench(options: BenchOptions, hooks: RpcRunHooks): Promise<RpcResult> {
  const rpc = options.rpc
  if (rpc === null) throw new Error('runRpcBench needs RPC options')
  const { probe, setup, topology, settings, failure, rejectRun, untilFailure, onEvent } = await startRun(
    options,
    hooks,
    'broker blocked the connection',
  )
  const spawn = (spec: WorkerSpec): BenchWorker => new BenchWorker(spec, onEvent, rejectRun)
  const servers: BenchWorker[] = []
  const clients: BenchWorker[] = []

  try {
    for (let index = 1; index <= rpc.servers; index++) {
      servers.push(
        spawn({
          role: 'rpc-server',
          index,
          url: options.url,
          queue: topology.queue,
          noAck: options.ack === 'auto',
          prefetch: options.prefetch,
        }),
      )
    }
    await untilFailure(Promise.all(servers.map((worker) => worker.ready)))
    for (let index = 1; index <= rpc.clients; index++) {
      clients.push(
        spawn({
          role: 'rpc-client',
          index,
          url: options.url,
          exchange: options.exchange,
          routingKey: topology.routingKey,
          bodySize: options.size,
          requestLimit: options.count,
          inflight: rpc.inflight,
          persistent: options.persistent,
          replyStyle: rpc.replyStyle,
        }),
      )
    }
    await untilFailure(Promise.all(clients.map((worker) => worker.ready)))

    const startedAt = nowMillis()
    const cpuAtStart = process.cpuUsage()
    probe?.restartCpuMeasurement()
    const stats = new RpcStats(clients, servers, probe, startedAt)
    for (const client of clients) client.send({ type: 'start' })

    const progress: RpcProgressSample[] = []
    const incomplete = await untilFailure(
      superviseRpc(options, clients, stats, startedAt, hooks, failure.signal, (sample) => {
        progress.push(sample)
        hooks.progress(sample)
      }),
    )
    stats.sampleCpu()
    probe?.sample()
    return collectRpcResult({ settings, stats, probe, startedAt, cpuAtStart, incomplete, progress })
  } finally {
    // Clients first, so no server goes away while a reply is still owed
    await shutDown(clients, { type: 'close' })
    await shutDown(servers)
    await cleanUp(setup, topology, hooks)
  }
}

/**
 * Waits until every client has finished (count reached, or stopped at the
 * end of the duration, and every request answered). A client that has
 * requests outstanding and no reply for --drain-timeout seconds ends the
 * run as incomplete: its window never refills, so it is stuck.
 */
async function superviseRpc(
  options: BenchOptions,
  clients: readonly BenchWorker[],
  stats: RpcStats,
  startedAt: number,
  hooks: RpcRunHooks,
  failed: AbortSignal,
  onProgress: (sample: RpcProgressSample) => void,
): Promise<string | null> {
  const durationEndsAt = options.duration === null ? Infinity : startedAt + options.duration * 1000
  const stallMillis = options.drainTimeout * 1000
  let stopSentAt: number | null = null
  let nextProgressAt = startedAt + PROGRESS_MILLIS

  for (;;) {
    await sleep(POLL_MILLIS)
    if (failed.aborted) return null // the run's outcome is the failure, reported elsewhere
    const now = nowMillis()
    if (stopSentAt === null && (now >= durationEndsAt || hooks.signal.aborted)) {
      for (const client of clients) client.send({ type: 'stop' })
      stopSentAt = now
    }
    if (now >= nextProgressAt) {
      onProgress(stats.sample())
      nextProgressAt = Math.max(nextProgressAt + PROGRESS_MILLIS, now + PROGRESS_MILLIS / 2)
    }
    if (clients.every((client) => client.isFinished)) return null
    if (hooks.signal.aborted) return null // Ctrl-C: no waiting for the outstanding replies

    const stuck = clients.filter((client) => {
      if (client.isFinished) return false
      const outstanding = client.counters[Counter.sent]! - client.counters[Counter.received]!
      const lastReplyAt = Math.max(startedAt, client.counters[Counter.lastActivityMillis]!)
      return outstanding > 0 && now - lastReplyAt > stallMillis
    })
    if (stuck.length > 0) {
      const totals = stats.clientTotals()
      return (
        `${totals.sent - totals.received} request(s) unanswered: no reply for ${options.drainTimeout} s ` +
        `to ${stuck.map((client) => client.label).join(', ')}`
      )
    }
  }
}

interface RpcRunRecord {
  settings: RpcResult['settings']
  stats: RpcStats
  probe: BrokerProbe | null
  startedAt: number
  cpuAtStart: NodeJS.CpuUsage
  incomplete: string | null
  progress: RpcProgressSample[]
}

function collectRpcResult(run: RpcRunRecord): RpcResult {
  const { settings, stats, probe, startedAt } = run
  const endedAt = nowMillis()
  const client = stats.clientTotals()
  const server = stats.serverTotals()
  const histogram = stats.mergedHistogram()
  const samples = totalCount(histogram)
  const at = (pct: number): number => percentile(histogram, pct, client.maxLatencyMicros) / 1000
  const seconds = client.received > 0 ? (client.lastActivityMillis - startedAt) / 1000 : 0
  const cpu = process.cpuUsage(run.cpuAtStart)

  return {
    mode: 'rpc',
    settings,
    requests: {
      sent: client.sent,
      answered: client.received,
      unanswered: client.sent - client.received,
      seconds,
      requestsPerSecond: seconds > 0 ? client.received / seconds : 0,
    },
    wrongReplies: { unexpected: client.unexpected, mismatched: client.mismatched },
    servers: { requests: server.received, replies: server.sent, withoutReplyTo: server.unexpected },
    latencyMillis:
      samples === 0
        ? null
        : { samples, p50: at(50), p75: at(75), p95: at(95), p99: at(99), max: client.maxLatencyMicros / 1000 },
    broker: probe && { pid: probe.pid, peakRssBytes: probe.peakRssBytes, cpuPercent: probe.cpuPercent() },
    tool: {
      node: process.version,
      cpuPercent: ((cpu.user + cpu.system) / 1000 / (endedAt - startedAt)) * 100,
      peakClientCpu: stats.peakClientCpu,
      peakServerCpu: stats.peakServerCpu,
    },
    incomplete: run.incomplete,
    progress: run.progress,
  }
}

/** Samples the RPC workers' shared counters and histograms from the main thread. */
class RpcStats {
  peakClientCpu: number | null = null
  peakServerCpu: number | null = null
  private previousAnswered = 0
  private previousHistogram: Float64Array = new Float64Array(BUCKET_COUNT)
  private previousAt: number

  constructor(
    private readonly clients: readonly BenchWorker[],
    private readonly servers: readonly BenchWorker[],
    private readonly probe: BrokerProbe | null,
    private readonly startedAt: number,
  ) {
    this.previousAt = startedAt
    this.sampleCpu()
  }

  clientTotals(): CounterTotals {
    return sumCounters(this.clients.map((worker) => worker.counters))
  }

  serverTotals(): CounterTotals {
    return sumCounters(this.servers.map((worker) => worker.counters))
  }

  mergedHistogram(): Float64Array {
    return mergeHistograms(this.clients)
  }

  /** Figures since the previous call. */
  sample(): RpcProgressSample {
    const now = nowMillis()
    const seconds = Math.max((now - this.previousAt) / 1000, 1e-3)
    const totals = this.clientTotals()
    const histogram = this.mergedHistogram()
    const interval = histogram.slice()
    addCounts(interval, this.previousHistogram, -1)
    const p50 = percentile(interval, 50)
    const cpu = this.sampleCpu()

    const progress: RpcProgressSample = {
      seconds: (now - this.startedAt) / 1000,
      requestsPerSecond: (totals.received - this.previousAnswered) / seconds,
      inFlight: totals.sent - totals.received,
      wrongReplies: totals.unexpected + totals.mismatched,
      latencyMillis: Number.isNaN(p50) ? null : { p50: p50 / 1000, p99: percentile(interval, 99) / 1000 },
      brokerRssBytes: this.probe ? this.probe.sample().rssBytes : null,
      clientCpu: cpu.client,
      serverCpu: cpu.server,
    }
    this.previousAt = now
    this.previousAnswered = totals.received
    this.previousHistogram = histogram
    return progress
  }

  /** CPU use of the busiest thread of each kind since the last call (see LiveStats.sampleCpu). */
  sampleCpu(): { client: number | null; server: number | null } {
    const busiest = (workers: readonly BenchWorker[]): { fraction: number; overMillis: number } | null => {
      let max: { fraction: number; overMillis: number } | null = null
      for (const worker of workers) {
        const cpu = worker.cpuSinceLastCall()
        if (cpu !== null && (max === null || cpu.fraction > max.fraction)) max = cpu
      }
      return max
    }
    const client = busiest(this.clients)
    const server = busiest(this.servers)
    if (client !== null && client.overMillis >= 500) {
      this.peakClientCpu = Math.max(this.peakClientCpu ?? 0, client.fraction)
    }
    if (server !== null && server.overMillis >= 500) {
      this.peakServerCpu = Math.max(this.peakServerCpu ?? 0, server.fraction)
    }
    return { client: client?.fraction ?? null, server: server?.fraction ?? null }
  }
}
