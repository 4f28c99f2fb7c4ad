/**
 * The soak's bookkeeping: every message it publishes gets a sequential id (sent as the message-id property,
 * base 36), and the ledger records, per id, where it was sent, what the broker confirmed and what came back.
 * Typed arrays rather than a Map keep an hour of traffic (millions of ids) within a few tens of MB.
 *
 * At the end, account() sorts every id the broker acked into "consumed" or a legitimate reason for its
 * absence, and anything else is missing.
 */

/** Where a message was published; decides which absences are legitimate. */
export const ROUTES = [
  'durable', // persistent, to a durable queue: must be consumed (or dead-lettered and consumed)
  'transient', // transient, to a non-durable queue: must be consumed too (the broker is never restarted)
  'max-length', // persistent, to a durable x-max-length queue with reject-publish: nacked when full
  'ttl', // to a queue with x-message-ttl (and some with a per-message expiration): may expire
  'churn', // persistent, mandatory, to a durable queue that is deleted and declared again all the time
  'unroutable', // mandatory, to a routing key nothing is bound to: must be returned
  'ephemeral', // to a fanout exchange bound to exclusive and auto-delete queues that come and go
] as const
export type Route = (typeof ROUTES)[number]
const ROUTE_INDEX = new Map<Route, number>(ROUTES.map((route, index) => [route, index]))

// Bits of `flags`
const CONFIRMED = 1
const NACKED = 2
const RETURNED = 4
/** Delivered at least once from the queue it was published to */
const SEEN = 8
/** Delivered at least once from the dead-letter queue */
const SEEN_DEAD = 16
/** The soak rejected it without requeue, so it must reach the dead-letter queue */
const REJECTED = 32
/** Acked from the dead-letter queue */
const DEAD_CONSUMED = 64

const EXAMPLES = 20

export interface Accounting {
  published: number
  confirmed: number
  nacked: number
  /** neither acked nor nacked: the channel closed first (counted, not a failure: no promise was made) */
  unconfirmed: number
  consumed: number
  /** acked by the soak more than once (the broker lost an ack, or redelivered an acked message) */
  consumedTwice: number
  deadLetteredAndConsumed: number
  returned: number
  expired: number
  droppedByQueueDelete: number
  ephemeralGone: number
  /** routed to nothing yet not returned although mandatory */
  unroutableNotReturned: number
  /** nacked by the broker and delivered all the same (RabbitMQ allows it: a nack promises nothing) */
  nackedButDelivered: number
  /** arrived in the dead-letter queue without the soak rejecting it */
  unexpectedDeadLetters: number
  /** delivered again with redelivered = false: a broker bug */
  duplicatesWithoutRedelivered: number
  /** confirmed by the broker and never consumed, with no legitimate reason */
  missing: number
  missingByRoute: Record<string, number>
  /** a few missing ids (base 36) with their route, to look for in the broker's logs */
  missingExamples: string[]
  duplicateExamples: string[]
}

export class Ledger {
  private size = 0
  private route = new Uint8Array(1 << 20)
  private flags = new Uint8Array(1 << 20)
  /** Ids acked by the soak from their own queue, saturating at 255 */
  private consumedCount = new Uint8Array(1 << 20)
  /** The churn queue's epoch when the message was published (see bumpChurnEpoch) */
  private epoch = new Uint32Array(1 << 20)
  /** Incremented when a delete of the churn queue is sent and again when its redeclaration is done. */
  churnEpoch = 0

  /** Counters for the progress line, read and reset by the caller */
  confirms = 0
  nacks = 0
  deliveries = 0
  deadLetters = 0
  unexpectedDeadLetters = 0
  duplicatesWithoutRedelivered = 0
  duplicateExamples: string[] = []

  get published(): number {
    return this.size
  }

  /** A new id for a message about to be published on `route`. */
  issue(route: Route): number {
    if (this.size === this.route.length) this.grow()
    const id = this.size++
    this.route[id] = ROUTE_INDEX.get(route)!
    this.epoch[id] = this.churnEpoch
    return id
  }

  /** Called when the delete of the churn queue is sent, and when its redeclaration is done. */
  bumpChurnEpoch(): void {
    this.churnEpoch++
  }

  confirmed(id: number): void {
    this.flags[id]! |= CONFIRMED
    this.confirms++
  }

  nacked(id: number): void {
    this.flags[id]! |= NACKED
    this.nacks++
  }

  returned(id: number): void {
    if (this.valid(id)) this.flags[id]! |= RETURNED
  }

  /** A delivery from the queue the message was published to (consume or get). */
  delivered(id: number, redelivered: boolean): void {
    if (!this.valid(id)) return
    this.deliveries++
    // A fanout copy reaches every bound temporary queue, so repeats are normal there
    if ((this.flags[id]! & SEEN) !== 0 && !redelivered && ROUTES[this.route[id]!] !== 'ephemeral') {
      this.duplicatesWithoutRedelivered++
      if (this.duplicateExamples.length < EXAMPLES) this.duplicateExamples.push(id.toString(36))
    }
    this.flags[id]! |= SEEN
  }

  /** The soak acks the delivery (so the message is consumed). */
  consumed(id: number): void {
    if (this.valid(id) && this.consumedCount[id]! < 255) this.consumedCount[id]! += 1
  }

  /** The soak rejects the delivery without requeue: it must show up in the dead-letter queue. */
  rejected(id: number): void {
    if (this.valid(id)) this.flags[id]! |= REJECTED
  }

  deadLetterDelivered(id: number, redelivered: boolean): void {
    if (!this.valid(id)) return
    this.deadLetters++
    const flags = this.flags[id]!
    if ((flags & REJECTED) === 0) this.unexpectedDeadLetters++
    if ((flags & SEEN_DEAD) !== 0 && !redelivered) {
      this.duplicatesWithoutRedelivered++
      if (this.duplicateExamples.length < EXAMPLES) this.duplicateExamples.push(`${id.toString(36)} (dlq)`)
    }
    this.flags[id] = flags | SEEN_DEAD
  }

  deadLetterConsumed(id: number): void {
    if (this.valid(id)) this.flags[id]! |= DEAD_CONSUMED
  }

  account(): Accounting {
    const result: Accounting = {
      published: this.size,
      confirmed: 0,
      nacked: 0,
      unconfirmed: 0,
      consumed: 0,
      consumedTwice: 0,
      deadLetteredAndConsumed: 0,
      returned: 0,
      expired: 0,
      droppedByQueueDelete: 0,
      ephemeralGone: 0,
      unroutableNotReturned: 0,
      nackedButDelivered: 0,
      unexpectedDeadLetters: this.unexpectedDeadLetters,
      duplicatesWithoutRedelivered: this.duplicatesWithoutRedelivered,
      missing: 0,
      missingByRoute: {},
      missingExamples: [],
      duplicateExamples: this.duplicateExamples,
    }
    for (let id = 0; id < this.size; id++) {
      const flags = this.flags[id]!
      const route = ROUTES[this.route[id]!]!
      const consumed = this.consumedCount[id]!
      if ((flags & NACKED) !== 0) {
        result.nacked++
        if (consumed > 0) result.nackedButDelivered++
        continue
      }
      if ((flags & CONFIRMED) === 0) {
        result.unconfirmed++
        continue
      }
      result.confirmed++
      if (consumed > 0) {
        result.consumed++
        // Fanout copies in several temporary queues are each acked once
        if (consumed > 1 && route !== 'ephemeral') result.consumedTwice++
      } else if ((flags & RETURNED) !== 0) {
        result.returned++
      } else if (route === 'unroutable') {
        result.unroutableNotReturned++
      } else if ((flags & REJECTED) !== 0 && (flags & DEAD_CONSUMED) !== 0) {
        result.deadLetteredAndConsumed++
      } else if (route === 'ttl' && (flags & REJECTED) === 0) {
        result.expired++
      } else if (route === 'churn' && this.epoch[id]! < this.churnEpoch) {
        result.droppedByQueueDelete++
      } else if (route === 'ephemeral') {
        result.ephemeralGone++
      } else {
        result.missing++
        result.missingByRoute[route] = (result.missingByRoute[route] ?? 0) + 1
        if (result.missingExamples.length < EXAMPLES) {
          const why = (flags & REJECTED) !== 0 ? ', rejected, never consumed from the DLQ' : ''
          result.missingExamples.push(`${id.toString(36)} (${route}${why})`)
        }
      }
    }
    return result
  }

  private valid(id: number): boolean {
    return Number.isSafeInteger(id) && id >= 0 && id < this.size
  }

  private grow(): void {
    const length = this.route.length * 2
    const widen = <T extends Uint8Array | Uint32Array>(old: T, make: (n: number) => T): T => {
      const next = make(length)
      next.set(old)
      return next
    }
    this.route = widen(this.route, (n) => new Uint8Array(n))
    this.flags = widen(this.flags, (n) => new Uint8Array(n))
    this.consumedCount = widen(this.consumedCount, (n) => new Uint8Array(n))
    this.epoch = widen(this.epoch, (n) => new Uint32Array(n))
  }
}

/** The message-id the soak puts on message `id`, and back. */
export function messageIdOf(id: number): string {
  return id.toString(36)
}

export function idOfMessageId(messageId: unknown): number {
  return typeof messageId === 'string' ? Number.parseInt(messageId, 36) : NaN
}
