// Message rates (`*_details: {rate}`) from the broker's counters (broker/stats.ts), without any cost per
// message and without a timer: each object's counters are sampled when the API reads them, at most one
// sample per 5 s (RabbitMQ's default collect_statistics_interval), and the rate is the change per second
// between the current values and the previous kept sample, so it covers the last 5 to 10 s of reads.
// The first read of an object has no earlier sample: its rates are 0, as a new object's are in RabbitMQ.
// Samples live in a WeakMap keyed by the counters object, so they go with the queue, exchange or vhost.
//
// History, as RabbitMQ's `?msg_rates_age=600&msg_rates_incr=5` (and lengths_*, data_rates_*) answers it:
// `publish_details: {rate, avg, avg_rate, samples: [{sample, timestamp}, ...]}`, newest first, timestamps
// on multiples of incr. An object keeps a ring of its values (one per 5 s, 10 minutes) only once someone
// asked for its history (its page in the UI) or when it is the overview or a vhost, which a broker-wide
// timer samples (node.ts sampleHistory); no timer per object, so 10,000 queues cost nothing until read.
/** RabbitMQ's default collect_statistics_interval */
export const SAMPLE_INTERVAL_MS = 5000

interface Sample {
  readonly at: number
  readonly values: Readonly<Record<string, number>>
}

interface Samples {
  previous?: Sample
  last: Sample
  /** Kept values, oldest first, for the history answers (only for objects whose history was asked for) */
  ring?: Sample[]
}

/** How long a ring reaches back: RabbitMQ's basic retention keeps 605 s at 5 s */
const RING_SPAN_MS = 605_000
/** Reads closer together than this add no ring entry (the timer's 5 s, give or take its lateness) */
const RING_MIN_GAP_MS = 4500
/** The smallest incr honoured: the samples of one answer stay at most RING_SPAN_MS / 1 s */
const MIN_INCR_S = 1

export interface HistoryWindow {
  /** seconds */
  age: number
  /** seconds */
  incr: number
}

/** What the request being answered asked for: windows per kind, and whether to start keeping rings */
export interface HistoryScope {
  msgRates?: HistoryWindow
  lengths?: HistoryWindow
  dataRates?: HistoryWindow
  /** Start a ring for each object read (one object's page, the overview, vhosts); lists only use rings */
  record: boolean
}

let scope: HistoryScope | undefined

/** The windows a query asks for (`msg_rates_age`, `msg_rates_incr`, lengths_*, data_rates_*) */
export function historyScope(query: URLSearchParams, record: boolean): HistoryScope {
  const windowOf = (prefix: string): HistoryWindow | undefined => {
    const age = Number(query.get(`${prefix}_age`))
    const incr = Number(query.get(`${prefix}_incr`))
    if (!Number.isFinite(age) || !Number.isFinite(incr) || age <= 0 || incr < MIN_INCR_S) return undefined
    return { age, incr }
  }
  const msgRates = windowOf('msg_rates')
  const lengths = windowOf('lengths')
  const dataRates = windowOf('data_rates')
  return {
    record,
    ...(msgRates ? { msgRates } : {}),
    ...(lengths ? { lengths } : {}),
    ...(dataRates ? { dataRates } : {}),
  }
}

/**
 * Runs `answer` with `history` in force for every rate it formats. `answer`'s synchronous part only: the
 * statistics handlers read everything before they return.
 */
export function withHistory<T>(history: HistoryScope | undefined, answer: () => T): T {
  const outer = scope
  scope = history
  try {
    return answer()
  } finally {
    scope = outer
  }
}

/** The window that applies to a field: queue lengths, bytes (data rates) or message counters */
function windowOf(name: string): HistoryWindow | undefined {
  if (!scope) return undefined
  if (name === 'messages' || name === 'messages_ready' || name === 'messages_unacknowledged') return scope.lengths
  if (name === 'send_oct' || name === 'recv_oct') return scope.dataRates
  if (name === 'mem_used' || name === 'disk_free') return undefined
  return scope.msgRates
}

const samplesOf = new WeakMap<object, Samples>()
/** Gauges (messages, messages_ready, bytes, mem_used) are sampled apart: their key may also have counters */
const gaugeSamplesOf = new WeakMap<object, Samples>()

/** A rate with its history, as RabbitMQ answers `*_age`/`*_incr` */
export type RateHistory = {
  rate: number
  avg: number
  avg_rate: number
  samples: { sample: number; timestamp: number }[]
}

/** RabbitMQ's message_stats: each counter, and beside it `<name>_details: {rate}` */
export type MessageStats = { [name: string]: number | { rate: number } | RateHistory }

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
  if (scope?.record || samples.ring) keepInRing(samples, now, values)
  const base = samples.previous ?? (samples.last.at < now ? samples.last : undefined)
  const out: MessageStats = {}
  for (const [name, value] of Object.entries(values)) {
    out[name] = value
    const seconds = base ? (now - base.at) / 1000 : 0
    const rate = Math.round((seconds > 0 ? (value - (base!.values[name] ?? 0)) / seconds : 0) * 10) / 10
    const window = windowOf(name)
    out[`${name}_details`] = window ? history(samples.ring ?? [], name, value, window, rate, now) : { rate }
  }
  return out
}

function keepInRing(samples: Samples, now: number, values: Readonly<Record<string, number>>): void {
  const ring = (samples.ring ??= [])
  const newest = ring[ring.length - 1]
  if (newest && now - newest.at < RING_MIN_GAP_MS) return
  ring.push({ at: now, values })
  while (ring.length > 0 && ring[0]!.at < now - RING_SPAN_MS) ring.shift()
}

/**
 * RabbitMQ's samples: newest first, at multiples of incr, back `age` seconds or as far as the ring goes (an
 * object watched for a minute has a minute of samples). The newest is the current value; each older one
 * is read off the ring, between two kept values by a straight line. avg is the samples' mean, avg_rate the
 * change per second from the oldest to the newest.
 */
function history(
  ring: readonly Sample[],
  name: string,
  current: number,
  window: HistoryWindow,
  rate: number,
  now: number,
): RateHistory {
  const incrMs = window.incr * 1000
  const newest = Math.floor(now / incrMs) * incrMs
  const oldest = Math.max(now - window.age * 1000, (ring[0]?.at ?? now) - 1)
  const out = [{ sample: current, timestamp: newest }]
  let i = ring.length - 1
  for (let at = newest - incrMs; at >= oldest; at -= incrMs) {
    while (i > 0 && ring[i]!.at > at) i--
    const before = ring[i]
    if (!before || before.at > at) break
    const after = ring[i + 1]
    const from = before.values[name] ?? 0
    const value =
      after && after.at > before.at
        ? from + ((after.values[name] ?? 0) - from) * ((at - before.at) / (after.at - before.at))
        : from
    out.push({ sample: Math.round(value), timestamp: at })
  }
  const last = out[out.length - 1]!
  const span = (newest - last.timestamp) / 1000
  return {
    rate,
    samples: out,
    avg_rate: span > 0 ? Math.round(((current - last.sample) / span) * 10) / 10 : 0,
    avg: out.reduce((sum, s) => sum + s.sample, 0) / out.length,
  }
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
