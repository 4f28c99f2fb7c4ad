// The Prometheus text exposition format (0.0.4), read by a Prometheus parser from npm, and scraping over real HTTP: for the tests of
// Warren's endpoint and of its comparison with RabbitMQ's rabbitmq_prometheus.
import assert from 'node:assert/strict'
import { request } from 'node:http'
import parse from 'parse-prometheus-text-format'

export interface Family {
  help: string
  type: string
  samples: { labels: Record<string, string>; value: number }[]
}

interface ParsedMetric {
  value?: string
  labels?: Record<string, string>
  buckets?: Record<string, string>
  quantiles?: Record<string, string>
  count?: string
  sum?: string
}
const parsePrometheusTextFormat = parse as unknown as (text: string) => {
  name: string
  help: string
  type: string
  metrics: ParsedMetric[]
}[]

/** Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any case (prom-client writes Nan) */
function sampleValue(text: string): number {
  const special = /^(nan|[+-]?inf)$/i.test(text)
  const value = special ? Number(text.replace(/nan/i, 'NaN').replace(/inf/i, 'Infinity')) : Number(text)
  assert.ok(special || !Number.isNaN(value), `bad value ${text}`)
  return value
}

/**
 * The text exposition format (0.0.4), read by parse-prometheus-text-format: the families by name, each with
 * its HELP, its TYPE (lower case, as written) and its samples (a histogram's buckets and a summary's
 * quantiles as samples with their le and quantile labels).
 */
export function parseExposition(text: string): Map<string, Family> {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline')
  const families = new Map<string, Family>()
  for (const parsed of parsePrometheusTextFormat(text)) {
    const family: Family = { help: parsed.help, type: parsed.type.toLowerCase(), samples: [] }
    for (const metric of parsed.metrics) {
      const labels = metric.labels ?? {}
      if (metric.value !== undefined) family.samples.push({ labels, value: sampleValue(metric.value) })
      for (const [le, v] of Object.entries(metric.buckets ?? {}))
        family.samples.push({ labels: { ...labels, le }, value: sampleValue(v) })
      for (const [quantile, v] of Object.entries(metric.quantiles ?? {}))
        family.samples.push({ labels: { ...labels, quantile }, value: sampleValue(v) })
    }
    assert.ok(!families.has(parsed.name), `family ${parsed.name} twice`)
    families.set(parsed.name, family)
  }
  return families
}

export function get(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

export async function scrape(port: number, path = '/metrics'): Promise<Map<string, Family>> {
  const res = await get(port, path)
  assert.equal(res.status, 200)
  assert.match(res.type, /^text\/plain; version=0\.0\.4/)
  return parseExposition(res.body)
}

/** The samples of a family (which must be there) whose labels include `labels`, whatever other labels they have */
export function samplesWith(families: Map<string, Family>, name: string, labels: Record<string, string> = {}) {
  const family = families.get(name)
  assert.ok(family, `no ${name}`)
  return family.samples.filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
}

/** The value of the one sample of a family whose labels are exactly `labels` */
export function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name)
  assert.ok(family, `no ${name}`)
  const found = family.samples.filter((s) => JSON.stringify(s.labels) === JSON.stringify(labels))
  assert.equal(found.length, 1, `${name}${JSON.stringify(labels)} in ${JSON.stringify(family.samples)}`)
  return found[0]!.value
}
