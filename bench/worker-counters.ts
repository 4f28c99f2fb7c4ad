/**
 * Live counters each worker publishes to the main thread through shared
 * memory: a plain store per message is far cheaper than postMessage, and the
 * main thread can sample them whenever it likes. Only the owning worker
 * writes; aligned 64-bit stores do not tear on the platforms we run on.
 */
export const Counter = {
  /** basic.publish calls made (RPC: requests by a client, replies by a server) */
  sent: 0,
  /** publisher confirms received as ack */
  confirmed: 1,
  /** publisher confirms received as nack */
  nacked: 2,
  /** deliveries received (RPC client: answered requests; server: requests) */
  received: 3,
  /** largest end-to-end latency seen, µs */
  maxLatencyMicros: 4,
  /** publisher: when it finished (ms, clock.ts); consumer: last delivery */
  lastActivityMillis: 5,
  /** RPC client: replies whose correlation_id matches no outstanding request; server: requests without reply_to */
  unexpected: 6,
  /** RPC client: replies whose body is not the request's */
  mismatched: 7,
} as const

const COUNTER_SLOTS = 8

export function createCounterBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(COUNTER_SLOTS * Float64Array.BYTES_PER_ELEMENT)
}

export interface CounterTotals {
  sent: number
  confirmed: number
  nacked: number
  received: number
  maxLatencyMicros: number
  lastActivityMillis: number
  unexpected: number
  mismatched: number
}

export function sumCounters(views: readonly Float64Array[]): CounterTotals {
  const totals: CounterTotals = {
    sent: 0,
    confirmed: 0,
    nacked: 0,
    received: 0,
    maxLatencyMicros: 0,
    lastActivityMillis: 0,
    unexpected: 0,
    mismatched: 0,
  }
  for (const view of views) {
    totals.sent += view[Counter.sent]!
    totals.confirmed += view[Counter.confirmed]!
    totals.nacked += view[Counter.nacked]!
    totals.received += view[Counter.received]!
    totals.maxLatencyMicros = Math.max(totals.maxLatencyMicros, view[Counter.maxLatencyMicros]!)
    totals.lastActivityMillis = Math.max(totals.lastActivityMillis, view[Counter.lastActivityMillis]!)
    totals.unexpected += view[Counter.unexpected]!
    totals.mismatched += view[Counter.mismatched]!
  }
  return totals
}
