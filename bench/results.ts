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
