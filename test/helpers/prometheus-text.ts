// The Prometheus text exposition format (0.0.4), read strictly, and scraping over real HTTP: for the tests of
// Warren's endpoint and of its comparison with RabbitMQ's rabbitmq_prometheus.
import assert from 'node:assert/strict'
import { request } from 'node:http'

export interface Family {
  help: string
  type: string
  samples: { labels: Record<string, string>; value: number }[]
}

/**
 * A strict parser of the text exposition format (0.0.4): every line is a HELP, a TYPE or a sample of the
 * family announced just before; label values are quoted with \\, \" and \n escapes; anything else fails.
 */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  let current: { name: string; family: Family } | undefined
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline')
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line)
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string]
      let family = families.get(name)
      if (!family) families.set(name, (family = { help: '', type: '', samples: [] }))
      if (kind === 'HELP') family.help = rest
      else {
        assert.match(rest, /^(counter|gauge|histogram|summary|untyped)$/, line)
        family.type = rest
      }
      current = { name, family }
      continue
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    assert.ok(sample, `not a sample line: ${line}`)
    const [, name, labelText, valueText] = sample as unknown as [string, string, string | undefined, string]
    assert.ok(current, `a sample before any TYPE: ${line}`)
    // histograms and summaries: name_bucket, name_sum, name_count belong to the family announced
    const base = current.name
    assert.ok(name === base || /^_(bucket|sum|count|total|created)$/.test(name.slice(base.length)), line)
    const labels: Record<string, string> = {}
    let rest = labelText ?? ''
    while (rest !== '') {
      const label = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\[\\"n])*)"(,|$)/.exec(rest)
      assert.ok(label, `bad labels in: ${line}`)
      labels[label[1]!] = label[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
      rest = rest.slice(label[0].length)
    }
    // Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any case (prom-client writes Nan)
    const special = /^(nan|[+-]?inf)$/i.test(valueText)
    const value = special ? Number(valueText.replace(/nan/i, 'NaN').replace(/inf/i, 'Infinity')) : Number(valueText)
    assert.ok(special || !Number.isNaN(value), `bad value in: ${line}`)
    current.family.samples.push({ labels, value })
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

/** The value of the one sample of a family whose labels are exactly `labels` */
export function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name)
  assert.ok(family, `no ${name}`)
  const found = family.samples.filter((s) => JSON.stringify(s.labels) === JSON.stringify(labels))
  assert.equal(found.length, 1, `${name}${JSON.stringify(labels)} in ${JSON.stringify(family.samples)}`)
  return found[0]!.value
}
