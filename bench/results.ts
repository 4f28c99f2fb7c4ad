import type { BrokerProbe } from './broker-probe.js'
import { percentile, totalCount } from './latency-histogram.js'
import type { ProgressSample } from './live-stats.js'
import type { RunSettings } from './run-start.js'

export interface RateFigures {
  messages: number
  /** from the start of the run to the last publish/confirm or delivery */
  seconds: number
  messagesPerSecond: number
  /** message bodies only; 1 MB = 1,000,000 bytes */
  megabytesPerSecond: number
}

/** Percentiles and maximum of a run's latencies, in milliseconds. */
export interface LatencySummary {
  samples: number
  p50: number
  p75: number
  p95: number
  p99: number
  max: number
}

/** The broker's footprint over the run (--broker-pid). */
export interface BrokerSummary {
  pid: number
  peakRssBytes: number
  cpuPercent: number
}

/** Everything a run measured; printed as text or, with --json, as is. */
export interface BenchResult {
  settings: RunSettings
  published: (RateFigures & { confirmed: number; nacked: number }) | null
  consumed: RateFigures | null
  /** end-to-end, publisher's timestamp to consumer's receipt; null if not measured */
  latencyMillis: LatencySummary | null
  broker: BrokerSummary | null
  tool: {
    /** the Node.js that ran the tool (process.version, e.g. v20.20.2), so that results say what they ran on */
    node: string
    /** whole tool process, percent of one core */
    cpuPercent: number
    /** highest per-second CPU use of any publisher/consumer thread, in cores (0..1); Linux only */
    peakPublisherCpu: number | null
    peakConsumerCpu: number | null
  }
  /** why the run ended before every published message was consumed, if it did */
  incomplete: string | null
  progress: ProgressSample[]
}

export function rateFigures(messages: number, seconds: number, bodySize: number): RateFigures {
  const messagesPerSecond = seconds > 0 ? messages / seconds : 0
  return { messages, seconds, messagesPerSecond, megabytesPerSecond: (messagesPerSecond * bodySize) / 1e6 }
}

/** The latencies in `histogram`, whose largest is `maxMicros` (exact, unlike the buckets); null if none. */
export function latencySummary(histogram: Float64Array, maxMicros: number): LatencySummary | null {
  const samples = totalCount(histogram)
  if (samples === 0) return null
  const at = (pct: number): number => percentile(histogram, pct, maxMicros) / 1000
  return { samples, p50: at(50), p75: at(75), p95: at(95), p99: at(99), max: maxMicros / 1000 }
}

export function brokerSummary(probe: BrokerProbe | null): BrokerSummary | null {
  return probe && { pid: probe.pid, peakRssBytes: probe.peakRssBytes, cpuPercent: probe.cpuPercent() }
}

/** One progress line of an RPC run, over the last interval. */
export interface RpcProgressSample {
  seconds: number
  /** replies received per second */
  requestsPerSecond: number
  /** requests sent and not yet answered, now */
  inFlight: number
  /** wrong replies so far (unknown correlation_id or another request's body) */
  wrongReplies: number
  /** round-trip percentiles of this interval's replies, null if none */
  latencyMillis: { p50: number; p99: number } | null
  brokerRssBytes: number | null
  /** CPU use of the busiest client/server thread, in cores (0..1) */
  clientCpu: number | null
  serverCpu: number | null
}

/** Everything an RPC run (--rpc) measured. */
export interface RpcResult {
  mode: 'rpc'
  settings: RunSettings
  requests: {
    sent: number
    answered: number
    /** sent but never answered: left outstanding by Ctrl-C, or lost */
    unanswered: number
    /** from the start of the run to the last reply */
    seconds: number
    /** answered requests per second */
    requestsPerSecond: number
  }
  /** replies that answer no outstanding request, or carry a body other than their request's */
  wrongReplies: { unexpected: number; mismatched: number }
  /** as the server threads saw it */
  servers: { requests: number; replies: number; withoutReplyTo: number }
  /** round trip, client's publish to its receipt of the reply; null if no reply came */
  latencyMillis: LatencySummary | null
  broker: BrokerSummary | null
  tool: {
    /** the Node.js that ran the tool (process.version) */
    node: string
    cpuPercent: number
    /** highest per-second CPU use of any client/server thread, in cores (0..1); Linux only */
    peakClientCpu: number | null
    peakServerCpu: number | null
  }
  /** why the run ended with requests unanswered, if it did */
  incomplete: string | null
  progress: RpcProgressSample[]
}
