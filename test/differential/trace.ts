// What a client observes of one program on one broker, and the comparison of two such traces.
//
// A trace is one step per operation: the operation as resolved (names and all), its result (the reply's
// fields, or the error code and text that closed the channel or connection), and the events that arrived
// while it ran and settled (deliveries, returns, confirms, closes, cancels), grouped by stream. A stream is
// one consumer's deliveries and cancel, or one channel's confirms, returns or close: the order within a stream is
// part of the protocol, the interleaving of two streams is not (RabbitMQ's queues and channels are separate
// processes), so streams are sorted by name and compared in order.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

export interface Step {
  /** the operation as run, e.g. "queue.declare ~.q1 durable" */
  op: string
  result: Json
  /** stream name → events in arrival order */
  events: Record<string, Json[]>
}

export type Trace = Step[]

const SERVER_NAME = /amq\.(gen|ctag)-[A-Za-z0-9_-]{22}/g

/**
 * What legitimately differs between two runs of one program: the run's name prefix (each run has its own,
 * so that programs can run side by side on one broker), server-generated queue names and consumer tags
 * (numbered by first appearance), and the time in x-death headers.
 */
export function normalise(trace: Trace, prefix: string): Trace {
  const names = new Map<string, string>()
  const counters = { gen: 0, ctag: 0 }
  const text = JSON.stringify(trace)
    .split(prefix)
    .join('~')
    .replace(SERVER_NAME, (name, kind: 'gen' | 'ctag') => {
      let short = names.get(name)
      if (short === undefined) {
        short = `amq.${kind}-#${++counters[kind]}`
        names.set(name, short)
      }
      return short
    })
    .replace(/"time":\{[^}]*\}|"time":[0-9]+/g, '"time":"T"')
  // streams in the order of their normalised names (they were sorted by the broker-generated ones)
  return (JSON.parse(text) as Trace).map((step) => ({
    ...step,
    events: Object.fromEntries(Object.entries(step.events).sort(([a], [b]) => (a < b ? -1 : 1))),
  }))
}

export interface Divergence {
  /** index of the first step that differs */
  step: number
  op: string
  expected: Step | undefined
  actual: Step | undefined
}

/** The first step where `actual` (Warren) differs from `expected` (RabbitMQ), both normalised. */
export function firstDivergence(expected: Trace, actual: Trace): Divergence | undefined {
  const length = Math.max(expected.length, actual.length)
  for (let i = 0; i < length; i++) {
    const e = expected[i]
    const a = actual[i]
    if (JSON.stringify(e) !== JSON.stringify(a)) {
      return { step: i, op: e?.op ?? a?.op ?? '?', expected: e, actual: a }
    }
  }
  return undefined
}

/** A divergence for people: the step, then each side's result and the streams that differ. */
export function describeDivergence(d: Divergence, expectedName = 'RabbitMQ', actualName = 'Warren'): string {
  const lines = [`step ${d.step}: ${d.op}`]
  const show = (step: Step | undefined, name: string, other: Step | undefined): void => {
    if (!step) {
      lines.push(`  ${name}: (no such step)`)
      return
    }
    if (JSON.stringify(step.result) !== JSON.stringify(other?.result)) {
      lines.push(`  ${name} result: ${JSON.stringify(step.result)}`)
    }
    for (const [stream, events] of Object.entries(step.events)) {
      if (JSON.stringify(events) !== JSON.stringify(other?.events[stream])) {
        lines.push(`  ${name} ${stream}: ${JSON.stringify(events)}`)
      }
    }
    for (const stream of Object.keys(other?.events ?? {})) {
      if (!(stream in step.events)) lines.push(`  ${name} ${stream}: (nothing)`)
    }
  }
  show(d.expected, expectedName, d.actual)
  show(d.actual, actualName, d.expected)
  return lines.join('\n')
}
