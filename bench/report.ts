import type { ProgressSample } from './live-stats.js'
import type { BenchResult, RpcProgressSample, RpcResult } from './results.js'

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

export function formatProgress(sample: ProgressSample, confirming: boolean): string {
  const parts = [
    `${sample.seconds.toFixed(0).padStart(4)}s`,
    `sent ${count(sample.publishedPerSecond).padStart(9)} msg/s`,
  ]
  if (confirming) parts.push(`confirmed ${count(sample.confirmedPerSecond).padStart(9)} msg/s`)
  parts.push(`received ${count(sample.consumedPerSecond).padStart(9)} msg/s`, `backlog ${count(sample.backlog)}`)
  if (sample.latencyMillis) {
    parts.push(`latency p50 ${millis(sample.latencyMillis.p50)} ms p99 ${millis(sample.latencyMillis.p99)} ms`)
  }
  if (sample.brokerRssBytes !== null) parts.push(`broker rss ${megabytes(sample.brokerRssBytes)}`)
  parts.push(`cpu pub ${percent(sample.publisherCpu)} con ${percent(sample.consumerCpu)}`)
  return parts.join(' | ')
}

export function formatHeader(s: BenchResult['settings']): string {
  const load = s.count !== null ? `${count(s.count)} msgs/publisher` : `${s.duration} s`
  const ack =
    s.ack === 'auto' ? 'auto-ack' : `manual ack (prefetch ${s.prefetch || 'unlimited'}, multi-ack ${s.multiAck})`
  return [
    `warren-bench: ${s.url.replace(/\/\/[^@/]*@/, '//')} queue ${s.queue}${s.exchange ? ` via ${s.exchange}` : ''}`,
    `  ${s.publishers} publisher(s), ${s.consumers} consumer(s), ${s.size} B bodies, ${load}` +
      `${s.rate ? `, ${count(s.rate)} msg/s each` : ''}, confirms ${s.confirm || 'off'}, ${ack}` +
      `${s.persistent ? ', persistent' : ''}${s.durableQueue ? ', durable queue' : ''}`,
  ].join('\n')
}

export function formatSummary(result: BenchResult): string {
  const lines = ['', `Results (tool on Node ${result.tool.node})`]
  const row = (label: string, text: string): void => {
    lines.push(`  ${label.padEnd(11)} ${text}`)
  }
  const p = result.published
  if (p) {
    row(
      'published',
      `${count(p.messages)} msgs in ${p.seconds.toFixed(2)} s = ${count(p.messagesPerSecond)} msg/s, ${p.megabytesPerSecond.toFixed(1)} MB/s`,
    )
    if (result.settings.confirm > 0) row('confirmed', `${count(p.confirmed)} (nacked ${count(p.nacked)})`)
  }
  const c = result.consumed
  if (c) {
    row(
      'consumed',
      `${count(c.messages)} msgs in ${c.seconds.toFixed(2)} s = ${count(c.messagesPerSecond)} msg/s, ${c.megabytesPerSecond.toFixed(1)} MB/s`,
    )
  }
  const l = result.latencyMillis
  if (l) {
    row(
      'latency',
      `p50 ${millis(l.p50)} ms, p75 ${millis(l.p75)} ms, p95 ${millis(l.p95)} ms, p99 ${millis(l.p99)} ms, max ${millis(l.max)} ms`,
    )
  }
  const b = result.broker
  if (b) row('broker', `pid ${b.pid}: peak RSS ${megabytes(b.peakRssBytes)}, CPU ${Math.round(b.cpuPercent)}%`)
  const t = result.tool
  row(
    'tool',
    `CPU ${Math.round(t.cpuPercent)}% in all; peak per thread: publisher ${percent(t.peakPublisherCpu)}, consumer ${percent(t.peakConsumerCpu)}`,
  )
  if (Math.max(t.peakPublisherCpu ?? 0, t.peakConsumerCpu ?? 0) >= 0.9) {
    lines.push('  note: a worker thread used a whole core; the tool may be the limit (add publishers/consumers)')
  }
  if (result.incomplete) lines.push(`  INCOMPLETE: ${result.incomplete}`)
  return lines.join('\n')
}

export function formatRpcHeader(s: RpcResult['settings']): string {
  const rpc = s.rpc!
  const load = s.count !== null ? `${count(s.count)} requests/client` : `${s.duration} s`
  const replies = rpc.replyStyle === 'direct-reply-to' ? 'direct reply-to' : 'a reply queue per client'
  const ack = s.ack === 'auto' ? 'auto-ack' : `manual ack (prefetch ${s.prefetch || 'unlimited'})`
  return [
    `warren-bench rpc: ${s.url.replace(/\/\/[^@/]*@/, '//')} queue ${s.queue}${s.exchange ? ` via ${s.exchange}` : ''}`,
    `  ${rpc.clients} client(s) x ${rpc.inflight} in flight, replies via ${replies}; ` +
      `${rpc.servers} server(s), ${ack}; ${s.size} B bodies, ${load}${s.persistent ? ', persistent' : ''}` +
      `${s.durableQueue ? ', durable queue' : ''}`,
  ].join('\n')
}

export function formatRpcProgress(sample: RpcProgressSample): string {
  const parts = [
    `${sample.seconds.toFixed(0).padStart(4)}s`,
    `answered ${count(sample.requestsPerSecond).padStart(9)} req/s`,
    `in flight ${count(sample.inFlight)}`,
  ]
  if (sample.latencyMillis) {
    parts.push(`round trip p50 ${millis(sample.latencyMillis.p50)} ms p99 ${millis(sample.latencyMillis.p99)} ms`)
  }
  if (sample.wrongReplies > 0) parts.push(`WRONG replies ${count(sample.wrongReplies)}`)
  if (sample.brokerRssBytes !== null) parts.push(`broker rss ${megabytes(sample.brokerRssBytes)}`)
  parts.push(`cpu client ${percent(sample.clientCpu)} server ${percent(sample.serverCpu)}`)
  return parts.join(' | ')
}

export function formatRpcSummary(result: RpcResult): string {
  const lines = ['', `Results (tool on Node ${result.tool.node})`]
  const row = (label: string, text: string): void => {
    lines.push(`  ${label.padEnd(11)} ${text}`)
  }
  const r = result.requests
  row(
    'requests',
    `${count(r.answered)} answered in ${r.seconds.toFixed(2)} s = ${count(r.requestsPerSecond)} req/s` +
      ` (sent ${count(r.sent)}, unanswered ${count(r.unanswered)})`,
  )
  const l = result.latencyMillis
  if (l) {
    row(
      'round trip',
      `p50 ${millis(l.p50)} ms, p75 ${millis(l.p75)} ms, p95 ${millis(l.p95)} ms, p99 ${millis(l.p99)} ms, max ${millis(l.max)} ms`,
    )
  }
  const w = result.wrongReplies
  row(
    'replies',
    w.unexpected + w.mismatched === 0
      ? 'all matched their request'
      : `WRONG: ${count(w.unexpected)} with an unknown or repeated correlation_id, ` +
          `${count(w.mismatched)} with another request's body`,
  )
  const s = result.servers
  row(
    'servers',
    `${count(s.requests)} requests, ${count(s.replies)} replies` +
      `${s.withoutReplyTo > 0 ? `, ${count(s.withoutReplyTo)} requests without reply_to` : ''}`,
  )
  const b = result.broker
  if (b) row('broker', `pid ${b.pid}: peak RSS ${megabytes(b.peakRssBytes)}, CPU ${Math.round(b.cpuPercent)}%`)
  const t = result.tool
  row(
    'tool',
    `CPU ${Math.round(t.cpuPercent)}% in all; peak per thread: client ${percent(t.peakClientCpu)}, server ${percent(t.peakServerCpu)}`,
  )
  if (Math.max(t.peakClientCpu ?? 0, t.peakServerCpu ?? 0) >= 0.9) {
    lines.push('  note: a worker thread used a whole core; the tool may be the limit (add clients/servers)')
  }
  if (result.incomplete) lines.push(`  INCOMPLETE: ${result.incomplete}`)
  return lines.join('\n')
}
