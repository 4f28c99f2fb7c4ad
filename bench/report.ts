import type { ProgressSample } from './live-stats.js'
import type {
  BenchResult,
  BrokerSummary,
  LatencySummary,
  RateFigures,
  RpcProgressSample,
  RpcResult,
} from './results.js'
import type { RunSettings } from './run-start.js'

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

function count(value: number): string {
  return integer.format(value)
}

function millis(value: number): string {
  return value < 10 ? value.toFixed(3) : value < 100 ? value.toFixed(2) : value.toFixed(1)
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`
}

function percent(fraction: number | null): string {
  return fraction === null ? '-' : `${Math.round(fraction * 100)}%`
}

/** The start of a progress line: seconds into the run. */
function elapsed(seconds: number): string {
  return `${seconds.toFixed(0).padStart(4)}s`
}

function p50p99(latency: { p50: number; p99: number }): string {
  return `p50 ${millis(latency.p50)} ms p99 ${millis(latency.p99)} ms`
}

/** The header's first line: the broker (without credentials), the queue and the exchange. */
function target(tool: string, s: RunSettings): string {
  return `${tool}: ${s.url.replace(/\/\/[^@/]*@/, '//')} queue ${s.queue}${s.exchange ? ` via ${s.exchange}` : ''}`
}

function rate(r: RateFigures): string {
  return `${count(r.messages)} msgs in ${r.seconds.toFixed(2)} s = ${count(r.messagesPerSecond)} msg/s, ${r.megabytesPerSecond.toFixed(1)} MB/s`
}

function latencyRow(l: LatencySummary): string {
  return `p50 ${millis(l.p50)} ms, p75 ${millis(l.p75)} ms, p95 ${millis(l.p95)} ms, p99 ${millis(l.p99)} ms, max ${millis(l.max)} ms`
}

/** A thread kind of the run (publisher, consumer, client, server) and its peak CPU. */
type ThreadPeak = [kind: string, peak: number | null]

/**
 * The summary of either kind of run: a title, the run's own `rows`, then
 * what both report alike (broker, the tool's CPU, why it is incomplete).
 */
function summary(
  result: { broker: BrokerSummary | null; tool: { node: string; cpuPercent: number }; incomplete: string | null },
  rows: [label: string, text: string][],
  threads: [ThreadPeak, ThreadPeak],
): string {
  const lines = ['', `Results (tool on Node ${result.tool.node})`]
  const b = result.broker
  if (b) rows.push(['broker', `pid ${b.pid}: peak RSS ${megabytes(b.peakRssBytes)}, CPU ${Math.round(b.cpuPercent)}%`])
  const peaks = threads.map(([kind, peak]) => `${kind} ${percent(peak)}`).join(', ')
  rows.push(['tool', `CPU ${Math.round(result.tool.cpuPercent)}% in all; peak per thread: ${peaks}`])
  for (const [label, text] of rows) lines.push(`  ${label.padEnd(11)} ${text}`)
  if (Math.max(...threads.map(([, peak]) => peak ?? 0)) >= 0.9) {
    const more = threads.map(([kind]) => `${kind}s`).join('/')
    lines.push(`  note: a worker thread used a whole core; the tool may be the limit (add ${more})`)
  }
  if (result.incomplete) lines.push(`  INCOMPLETE: ${result.incomplete}`)
  return lines.join('\n')
}

export function formatProgress(sample: ProgressSample, confirming: boolean): string {
  const parts = [elapsed(sample.seconds), `sent ${count(sample.publishedPerSecond).padStart(9)} msg/s`]
  if (confirming) parts.push(`confirmed ${count(sample.confirmedPerSecond).padStart(9)} msg/s`)
  parts.push(`received ${count(sample.consumedPerSecond).padStart(9)} msg/s`, `backlog ${count(sample.backlog)}`)
  if (sample.latencyMillis) parts.push(`latency ${p50p99(sample.latencyMillis)}`)
  if (sample.brokerRssBytes !== null) parts.push(`broker rss ${megabytes(sample.brokerRssBytes)}`)
  parts.push(`cpu pub ${percent(sample.publisherCpu)} con ${percent(sample.consumerCpu)}`)
  return parts.join(' | ')
}

export function formatHeader(s: BenchResult['settings']): string {
  const load = s.count !== null ? `${count(s.count)} msgs/publisher` : `${s.duration} s`
  const ack =
    s.ack === 'auto' ? 'auto-ack' : `manual ack (prefetch ${s.prefetch || 'unlimited'}, multi-ack ${s.multiAck})`
  return [
    target('warren-bench', s),
    `  ${s.publishers} publisher(s), ${s.consumers} consumer(s), ${s.size} B bodies, ${load}` +
      `${s.rate ? `, ${count(s.rate)} msg/s each` : ''}, confirms ${s.confirm || 'off'}, ${ack}` +
      `${s.persistent ? ', persistent' : ''}${s.durableQueue ? ', durable queue' : ''}`,
  ].join('\n')
}

export function formatSummary(result: BenchResult): string {
  const rows: [string, string][] = []
  const p = result.published
  if (p) {
    rows.push(['published', rate(p)])
    if (result.settings.confirm > 0) rows.push(['confirmed', `${count(p.confirmed)} (nacked ${count(p.nacked)})`])
  }
  if (result.consumed) rows.push(['consumed', rate(result.consumed)])
  if (result.latencyMillis) rows.push(['latency', latencyRow(result.latencyMillis)])
  const t = result.tool
  return summary(result, rows, [
    ['publisher', t.peakPublisherCpu],
    ['consumer', t.peakConsumerCpu],
  ])
}

export function formatRpcHeader(s: RpcResult['settings']): string {
  const rpc = s.rpc!
  const load = s.count !== null ? `${count(s.count)} requests/client` : `${s.duration} s`
  const replies = rpc.replyStyle === 'direct-reply-to' ? 'direct reply-to' : 'a reply queue per client'
  const ack = s.ack === 'auto' ? 'auto-ack' : `manual ack (prefetch ${s.prefetch || 'unlimited'})`
  return [
    target('warren-bench rpc', s),
    `  ${rpc.clients} client(s) x ${rpc.inflight} in flight, replies via ${replies}; ` +
      `${rpc.servers} server(s), ${ack}; ${s.size} B bodies, ${load}${s.persistent ? ', persistent' : ''}` +
      `${s.durableQueue ? ', durable queue' : ''}`,
  ].join('\n')
}

export function formatRpcProgress(sample: RpcProgressSample): string {
  const parts = [
    elapsed(sample.seconds),
    `answered ${count(sample.requestsPerSecond).padStart(9)} req/s`,
    `in flight ${count(sample.inFlight)}`,
  ]
  if (sample.latencyMillis) parts.push(`round trip ${p50p99(sample.latencyMillis)}`)
  if (sample.wrongReplies > 0) parts.push(`WRONG replies ${count(sample.wrongReplies)}`)
  if (sample.brokerRssBytes !== null) parts.push(`broker rss ${megabytes(sample.brokerRssBytes)}`)
  parts.push(`cpu client ${percent(sample.clientCpu)} server ${percent(sample.serverCpu)}`)
  return parts.join(' | ')
}

export function formatRpcSummary(result: RpcResult): string {
  const r = result.requests
  const rows: [string, string][] = [
    [
      'requests',
      `${count(r.answered)} answered in ${r.seconds.toFixed(2)} s = ${count(r.requestsPerSecond)} req/s` +
        ` (sent ${count(r.sent)}, unanswered ${count(r.unanswered)})`,
    ],
  ]
  if (result.latencyMillis) rows.push(['round trip', latencyRow(result.latencyMillis)])
  const w = result.wrongReplies
  rows.push([
    'replies',
    w.unexpected + w.mismatched === 0
      ? 'all matched their request'
      : `WRONG: ${count(w.unexpected)} with an unknown or repeated correlation_id, ` +
        `${count(w.mismatched)} with another request's body`,
  ])
  const s = result.servers
  rows.push([
    'servers',
    `${count(s.requests)} requests, ${count(s.replies)} replies` +
      `${s.withoutReplyTo > 0 ? `, ${count(s.withoutReplyTo)} requests without reply_to` : ''}`,
  ])
  const t = result.tool
  return summary(result, rows, [
    ['client', t.peakClientCpu],
    ['server', t.peakServerCpu],
  ])
}
