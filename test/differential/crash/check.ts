// The crash invariant, as a pure function of what one run observed (so that a test can feed it a fabricated
// observation and see it fail). Queue names are logical (q0, t1...), message ids are the runner's.
//
// After Warren was killed and restarted on the same data directory:
// 1. every persistent message confirmed (basic.ack from the broker) and routed to a durable queue is still
//    in that queue, unless the client acked it or rejected/nacked it without requeue (such a settlement may
//    or may not have taken effect: the copy may be there or not);
// 2. a copy delivered before the crash (and so possibly delivered) comes back with redelivered=true; a copy
//    never delivered may come back either way (RabbitMQ says false: counted, not failed);
// 3. no copy is there twice, none is in a queue it was not routed to, no transient message survived, the
//    queue's message count matches what it delivers; non-durable queues are gone, durable queues,
//    exchanges and bindings declared before the kill are back;
// and before the crash, a copy delivered again had been requeued first and carries redelivered=true, and a
// first delivery says redelivered=false (unless it may have been requeued unseen by a channel close).
import { isDurableQueue, QUEUES } from './program.js'

export interface PublishRecord {
  id: string
  /** the queues the routing model says the message reached */
  queues: string[]
  persistent: boolean
  /** ack/nack from the broker; none: a plain channel; lost: no answer before the connection died */
  confirm: 'ack' | 'nack' | 'none' | 'lost'
}

/** What happened to one copy (a message in one queue) before the restart, in order. */
export type CopyEvent =
  | { queue: string; id: string; kind: 'deliver'; redelivered: boolean }
  /** ack: acked; drop: nacked or rejected without requeue; requeue: nacked/rejected with requeue, or its
   * channel was closed while the copy was unacked */
  | { queue: string; id: string; kind: 'ack' | 'drop' | 'requeue' }

export interface DrainedMessage {
  queue: string
  id: string
  redelivered: boolean
}

export interface Observation {
  /** queues and exchanges declared (declare-ok received) before the kill */
  declaredQueues: string[]
  declaredExchanges: string[]
  publishes: PublishRecord[]
  events: CopyEvent[]
  /** false: the broker did not come back; nothing after the restart was observed */
  restarted: boolean
  /** passive queue.declare after the restart, for every queue of the pool */
  queuesAfterRestart: Record<string, { exists: boolean; messageCount?: number }>
  exchangesAfterRestart: Record<string, boolean>
  /** every message taken from the durable queues after the restart, in order */
  drained: DrainedMessage[]
  /** bindings of durable queues before the kill (`dx q0 a`; fanout: `fx q0 *`), and as probes found them */
  bindingsExpected: string[]
  bindingsFound: string[]
  /** queues whose consumer had its channel closed: deliveries in flight then were requeued unseen, so a
   * first delivery seen from them may say redelivered=true */
  unseenRequeues?: string[]
  /** what the runner saw go wrong itself: damaged deliveries, unexpected channel errors... */
  problems: string[]
}

export interface CheckResult {
  problems: string[]
  /** copies the invariant looked at: owed (confirmed persistent in a durable queue) or present after restart */
  checkedCopies: number
  /** copies present after the restart that had never been delivered, and how many said redelivered=true */
  neverDelivered: number
  neverDeliveredRedelivered: number
  /** copies present after the restart that had been delivered before the crash (must say redelivered=true) */
  deliveredBefore: number
  /** first deliveries before the crash that said redelivered=true (allowed only from a queue whose
   * consumer's channel was closed: the copy may have been in flight then) */
  firstDeliveryRedelivered: number
}

interface CopyState {
  deliveries: number
  /** delivered and not settled or requeued since */
  outstanding: boolean
  /** acked or dropped: the copy may be gone */
  settled: boolean
  requeues: number
}

const copyKey = (queue: string, id: string): string => `${queue} ${id}`

export function checkObservation(o: Observation): CheckResult {
  const problems = [...o.problems]
  const publishes = new Map(o.publishes.map((p) => [p.id, p]))
  const copies = new Map<string, CopyState>()
  let firstDeliveryRedelivered = 0

  // ---- before the crash
  for (const event of o.events) {
    const key = copyKey(event.queue, event.id)
    let state = copies.get(key)
    if (!state) copies.set(key, (state = { deliveries: 0, outstanding: false, settled: false, requeues: 0 }))
    if (event.kind === 'deliver') {
      const publish = publishes.get(event.id)
      if (!publish) problems.push(`${key}: delivered before the crash, but nobody published it`)
      else if (!publish.queues.includes(event.queue))
        problems.push(`${key}: delivered from ${event.queue}, routed to [${publish.queues.join(', ')}]`)
      if (state.settled) problems.push(`${key}: delivered again after it was acked or dropped`)
      else if (state.outstanding) problems.push(`${key}: delivered again while still unacked (never requeued)`)
      if (state.deliveries === 0 && event.redelivered) {
        firstDeliveryRedelivered++
        if (!o.unseenRequeues?.includes(event.queue))
          problems.push(`${key}: first delivery says redelivered=true (no channel with a consumer was closed)`)
      }
      if (state.deliveries > 0 && !event.redelivered)
        problems.push(`${key}: delivered again (after a requeue) with redelivered=false`)
      state.deliveries++
      state.outstanding = true
    } else {
      if (!state.outstanding) problems.push(`${key}: ${event.kind} of a copy not delivered (harness bug?)`)
      state.outstanding = false
      if (event.kind === 'requeue') state.requeues++
      else state.settled = true
    }
  }

  if (!o.restarted) {
    problems.push('the broker did not come back after the kill')
    return {
      problems,
      checkedCopies: 0,
      neverDelivered: 0,
      neverDeliveredRedelivered: 0,
      deliveredBefore: 0,
      firstDeliveryRedelivered,
    }
  }

  // ---- the topology after the restart
  for (const queue of QUEUES) {
    const after = o.queuesAfterRestart[queue]
    if (!after) problems.push(`${queue}: not checked after the restart`)
    else if (isDurableQueue(queue) && o.declaredQueues.includes(queue) && !after.exists)
      problems.push(`${queue}: durable queue declared before the kill is gone after the restart`)
    else if (!isDurableQueue(queue) && after.exists) problems.push(`${queue}: non-durable queue survived the restart`)
  }
  for (const exchange of o.declaredExchanges) {
    if (o.exchangesAfterRestart[exchange] !== true)
      problems.push(`exchange ${exchange}: durable exchange declared before the kill is gone after the restart`)
  }
  const found = new Set(o.bindingsFound)
  const expected = new Set(o.bindingsExpected)
  for (const b of expected) if (!found.has(b)) problems.push(`binding ${b}: lost in the restart`)
  for (const b of found) if (!expected.has(b)) problems.push(`binding ${b}: there after the restart, never made`)

  // ---- the messages after the restart
  const present = new Set<string>()
  const drainedPerQueue = new Map<string, number>()
  let neverDelivered = 0
  let neverDeliveredRedelivered = 0
  let deliveredBefore = 0
  for (const m of o.drained) {
    const key = copyKey(m.queue, m.id)
    drainedPerQueue.set(m.queue, (drainedPerQueue.get(m.queue) ?? 0) + 1)
    if (present.has(key)) problems.push(`${key}: twice in the queue after the restart`)
    present.add(key)
    const publish = publishes.get(m.id)
    if (!publish) {
      problems.push(`${key}: in the queue after the restart, but nobody published it`)
      continue
    }
    if (!publish.queues.includes(m.queue))
      problems.push(`${key}: in ${m.queue} after the restart, routed to [${publish.queues.join(', ')}]`)
    if (!publish.persistent) problems.push(`${key}: transient message still in a durable queue after the restart`)
    const state = copies.get(key)
    if (state && state.deliveries > 0) {
      deliveredBefore++
      if (!m.redelivered)
        problems.push(
          `${key}: delivered ${state.deliveries} time(s) before the crash` +
            `${state.settled ? ' (settled)' : ''}, back after the restart with redelivered=false`,
        )
    } else {
      neverDelivered++
      if (m.redelivered) neverDeliveredRedelivered++
    }
  }
  for (const [queue, after] of Object.entries(o.queuesAfterRestart)) {
    if (!after.exists || after.messageCount === undefined) continue
    const got = drainedPerQueue.get(queue) ?? 0
    if (got !== after.messageCount)
      problems.push(`${queue}: queue.declare said ${after.messageCount} messages after the restart, ${got} came`)
  }

  const checked = new Set(present)
  for (const publish of o.publishes) {
    if (publish.confirm !== 'ack' || !publish.persistent) continue
    for (const queue of publish.queues) {
      if (!isDurableQueue(queue)) continue
      const key = copyKey(queue, publish.id)
      checked.add(key)
      const state = copies.get(key)
      if (present.has(key) || state?.settled) continue
      problems.push(
        `${key}: confirmed persistent message missing after the restart (` +
          (state
            ? `delivered ${state.deliveries} time(s), requeued ${state.requeues}, unacked at the kill: ${state.outstanding}`
            : 'never delivered') +
          ')',
      )
    }
  }

  return {
    problems,
    checkedCopies: checked.size,
    neverDelivered,
    neverDeliveredRedelivered,
    deliveredBefore,
    firstDeliveryRedelivered,
  }
}
