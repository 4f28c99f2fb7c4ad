// Message rates (`*_details: {rate}`) from the broker's counters (broker/stats.ts), without any cost per
// message and without a timer: each object's counters are sampled when the API reads them, at most one
// sample per 5 s (RabbitMQ's default collect_statistics_interval), and the rate is the change per second
// between the current values and the previous kept sample, so it covers the last 5 to 10 s of reads.
// The first read of an object has no earlier sample: its rates are 0, as a new object's are in RabbitMQ.
// Samples live in a WeakMap keyed by the counters object, so they go with the queue, exchange or vhost.
/** RabbitMQ's default collect_statistics_interval */
export const SAMPLE_INTERVAL_MS = 5000

interface Sample {
  readonly at: number
  readonly values: Readonly<Record<string, number>>
}

interface Samples {
  previous?: Sample
  last: Sample
}

const samplesOf = new WeakMap<object, Samples>()
/** Gauges (messages, messages_ready, bytes, mem_used) are sampled apart: their key may also have counters */
const gaugeSamplesOf = new WeakMap<object, Samples>()

/** RabbitMQ's message_stats: each counter, and beside it `<name>_details: {rate}` */
export type MessageStats = { [name: string]: number | { rate: number } }

/**
 * The counters with RabbitMQ's rate beside each: `{publish: 3, publish_details: {rate: 0.6}}`. `key` is the
 * object the counters belong to (queue.stats, exchange.stats, vhost.stats, broker.stats).
 */
export function withRates(key: object, values: Record<string, number>, now = Date.now()): MessageStats {
  return sampled(samplesOf, key, values, now)
}

/**
 * Gauges with RabbitMQ's rate beside each, as for the queue totals: `{messages: 5, messages_details:
 * {rate: -0.4}}` (a gauge's rate may be negative). Sampled as counters are, apart from them.
 */
export function withGaugeRates(key: object, values: Record<string, number>, now = Date.now()): MessageStats {
  return sampled(gaugeSamplesOf, key, values, now)
}

function sampled(
  table: WeakMap<object, Samples>,
  key: object,
  values: Record<string, number>,
  now: number,
): MessageStats {
  let samples = table.get(key)
  if (!samples) {
    samples = { last: { at: now, values } }
    table.set(key, samples)
  } else if (now - samples.last.at >= SAMPLE_INTERVAL_MS) {
    samples.previous = samples.last
    samples.last = { at: now, values }
  }
  const base = samples.previous ?? (samples.last.at < now ? samples.last : undefined)
  const out: MessageStats = {}
  for (const [name, value] of Object.entries(values)) {
    out[name] = value
    const seconds = base ? (now - base.at) / 1000 : 0
    const rate = seconds > 0 ? (value - (base!.values[name] ?? 0)) / seconds : 0
    out[`${name}_details`] = { rate: Math.round(rate * 10) / 10 }
  }
  return out
}

/** Keys of per-object gauge samples (the queue totals of a queue, vhost, the overview) */
const gaugeKeys = new WeakMap<object, object>()
function gaugeKey(owner: object): object {
  let key = gaugeKeys.get(owner)
  if (!key) gaugeKeys.set(owner, (key = {}))
  return key
}

/** messages, messages_ready, messages_unacknowledged, each with its rate (`messages_details`...) */
export function queueTotals(owner: object, ready: number, unacked: number): MessageStats {
  return withGaugeRates(gaugeKey(owner), {
    messages: ready + unacked,
    messages_ready: ready,
    messages_unacknowledged: unacked,
  })
}
