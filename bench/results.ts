import type { BenchOptions } from './options.js'
import type { ProgressSample } from './live-stats.js'

export interface RateFigures {
  messages: number
  /** from the start of the run to the last publish/confirm or delivery */
  seconds: number
  messagesPerSecond: number
  /** message bodies only; 1 MB = 1,000,000 bytes */
  megabytesPerSecond: number
}

/** Everything a run measured; printed as text or, with --json, as is. */
export interface BenchResult {
  settings: BenchOptions & { queue: string; routingKey: string }
  published: (RateFigures & { confirmed: number; nacked: number }) | null
  consumed: RateFigures | null
  /** end-to-end, publisher's timestamp to consumer's receipt; null if not measured */
  latencyMillis: { samples: number; p50: number; p75: number; p95: number; p99: number; max: number } | null
  broker: { pid: number; peakRssBytes: number; cpuPercent: number } | null
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
  settings: BenchOptions & { queue: string; routingKey: string }
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
  latencyMillis: { samples: number; p50: number; p75: number; p95: number; p99: number; max: number } | null
  broker: { pid: number; peakRssBytes: number; cpuPercent: number } | null
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
