import type { BrokerProbe } from './broker-probe.js'
import { mergeHistograms } from './latency-histogram.js'
import type { BenchOptions } from './options.js'
import { brokerSummary, latencySummary, type RpcProgressSample, type RpcResult } from './results.js'
import { runWorkers, shutDown, type FinishedRun, type RunHooks, type Verdict } from './run-workers.js'
import { Counter, sumCounters, type CounterTotals } from './worker-counters.js'
import type { BenchWorker } from './worker-pool.js'
import { BusiestThreadCpu, IntervalClock, IntervalLatency } from './worker-stats.js'

export type RpcRunHooks = RunHooks<RpcProgressSample>

/**
 * An RPC run: servers consume the request queue, then clients start, each
 * keeping its window of requests in flight until the count is reached or
 * the duration is over; then the outstanding requests are awaited.
 */
export function runRpcBench(options: BenchOptions, hooks: RpcRunHooks): Promise<RpcResult> {
  const rpc = options.rpc
  if (rpc === null) throw new Error('runRpcBench needs RPC options')
  return runWorkers(options, hooks, {
    blockedNotice: 'broker blocked the connection',
    receivers: { count: rpc.servers, spec: (common) => ({ role: 'rpc-server', ...common }) },
    senders: {
      count: rpc.clients,
      spec: (common) => ({
        role: 'rpc-client',
        ...common,
        requestLimit: options.count,
        inflight: rpc.inflight,
        replyStyle: rpc.replyStyle,
      }),
    },
    stats: (clients, servers, probe, startedAt) => new RpcStats(clients, servers, probe, startedAt),
    verdict: (clients, stats, startedAt) => answeredVerdict(options, clients, stats, startedAt, hooks.signal),
    result: collectRpcResult,
    shutDown: async (clients, servers) => {
      // Clients first, so no server goes away while a reply is still owed
      await shutDown(clients, { type: 'close' })
      await shutDown(servers)
    },
  })
}

/**
 * The run is over once every client has finished (count reached, or stopped
 * at the end of the duration, and every request answered). A client that has
 * requests outstanding and no reply for --drain-timeout seconds ends the
 * run as incomplete: its window never refills, so it is stuck.
 */
function answeredVerdict(
  options: BenchOptions,
  clients: readonly BenchWorker[],
  stats: RpcStats,
  startedAt: number,
  interrupted: AbortSignal,
): Verdict {
  const stallMillis = options.drainTimeout * 1000
  return (now) => {
    if (clients.every((client) => client.isFinished)) return null
    if (interrupted.aborted) return null // Ctrl-C: no waiting for the outstanding replies

    const stuck = clients.filter((client) => {
      if (client.isFinished) return false
      const outstanding = client.counters[Counter.sent]! - client.counters[Counter.received]!
      const lastReplyAt = Math.max(startedAt, client.counters[Counter.lastActivityMillis]!)
      return outstanding > 0 && now - lastReplyAt > stallMillis
    })
    if (stuck.length === 0) return undefined
    const totals = stats.clientTotals()
    return (
      `${totals.sent - totals.received} request(s) unanswered: no reply for ${options.drainTimeout} s ` +
      `to ${stuck.map((client) => client.label).join(', ')}`
    )
  }
}

function collectRpcResult(run: FinishedRun<RpcStats>, progress: RpcProgressSample[]): RpcResult {
  const { settings, stats, startedAt } = run
  const client = stats.clientTotals()
  const server = stats.serverTotals()
  const seconds = client.received > 0 ? (client.lastActivityMillis - startedAt) / 1000 : 0

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
    latencyMillis: latencySummary(stats.mergedHistogram(), client.maxLatencyMicros),
    broker: brokerSummary(run.probe),
    tool: {
      node: process.version,
      cpuPercent: run.toolCpuPercent,
      peakClientCpu: stats.clientCpu.peak,
      peakServerCpu: stats.serverCpu.peak,
    },
    incomplete: run.incomplete,
    progress,
  }
}

/** Samples the RPC workers' shared counters and histograms from the main thread. */
class RpcStats {
  readonly clientCpu: BusiestThreadCpu
  readonly serverCpu: BusiestThreadCpu
  private readonly clock: IntervalClock
  private readonly latency = new IntervalLatency()
  private previousAnswered = 0

  constructor(
    private readonly clients: readonly BenchWorker[],
    private readonly servers: readonly BenchWorker[],
    private readonly probe: BrokerProbe | null,
    startedAt: number,
  ) {
    this.clientCpu = new BusiestThreadCpu(clients)
    this.serverCpu = new BusiestThreadCpu(servers)
    this.clock = new IntervalClock(startedAt)
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
    const { elapsed, interval } = this.clock.next()
    const totals = this.clientTotals()
    const latencyMillis = this.latency.next(this.mergedHistogram())
    const cpu = this.sampleCpu()

    const progress: RpcProgressSample = {
      seconds: elapsed,
      requestsPerSecond: (totals.received - this.previousAnswered) / interval,
      inFlight: totals.sent - totals.received,
      wrongReplies: totals.unexpected + totals.mismatched,
      latencyMillis,
      brokerRssBytes: this.probe ? this.probe.sample().rssBytes : null,
      clientCpu: cpu.client,
      serverCpu: cpu.server,
    }
    this.previousAnswered = totals.received
    return progress
  }

  /** CPU use of the busiest thread of each kind since the last call (see BusiestThreadCpu). */
  sampleCpu(): { client: number | null; server: number | null } {
    return { client: this.clientCpu.next(), server: this.serverCpu.next() }
  }
}
