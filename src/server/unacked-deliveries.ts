// A channel's deliveries waiting for ack, nack or reject, in delivery-tag order. Tags only grow, so the
// deliveries sit in parallel arrays in tag order (no object and no Map entry per delivery, which kept
// every unacked message's bookkeeping alive through young-generation collections); a settled delivery
// leaves a hole until the front moves past it, and a tag is found by binary search. An ack of the oldest
// deliveries, the usual case, only moves the front.
import type { LoadedEntry, QueueEntry } from '../broker/message.js'
import type { Queue } from '../broker/queue/queue.js'
import { preconditionFailed } from '../protocol/errors.js'
import type { DeliveryConsumer } from './channel-roles.js'

/** A delivery waiting for ack, nack or reject (made on demand: nack, reject, transactions, requeue). */
export interface Unacked {
  readonly queue: Queue
  readonly entry: LoadedEntry
  /** null for basic.get */
  readonly consumer: DeliveryConsumer | null
  /** Date.now() at delivery (the turn's), for consumer_timeout; 0 when it is off */
  readonly deliveredAt: number
}

export class UnackedDeliveries {
  // A ring of slots in tag order: `used` slots from `head` on, holes included; capacity a power of two
  private mask = 15
  private tags: number[] = new Array<number>(16).fill(0)
  /** undefined where the delivery was settled (a hole) */
  private entries: (LoadedEntry | undefined)[] = new Array<LoadedEntry | undefined>(16).fill(undefined)
  private queues: (Queue | undefined)[] = new Array<Queue | undefined>(16).fill(undefined)
  private consumers: (DeliveryConsumer | null)[] = new Array<DeliveryConsumer | null>(16).fill(null)
  private deliveredAt: number[] = new Array<number>(16).fill(0)
  private head = 0
  private used = 0
  /** Deliveries held (slots that are not holes) */
  size = 0

  /** Adds a delivery whose tag is higher than every tag held. */
  add(tag: number, queue: Queue, entry: LoadedEntry, consumer: DeliveryConsumer | null, deliveredAt: number): void {
    if (this.used > this.mask) this.makeRoom()
    const i = (this.head + this.used) & this.mask
    this.tags[i] = tag
    this.entries[i] = entry
    this.queues[i] = queue
    this.consumers[i] = consumer
    this.deliveredAt[i] = deliveredAt
    this.used++
    this.size++
  }

  /** The ring is full: without its holes if they are many (deliveries settled out of order), else twice as large. */
  private makeRoom(): void {
    const capacity = this.size * 2 <= this.used ? this.mask + 1 : (this.mask + 1) * 2
    const tags = new Array<number>(capacity).fill(0)
    const entries = new Array<LoadedEntry | undefined>(capacity).fill(undefined)
    const queues = new Array<Queue | undefined>(capacity).fill(undefined)
    const consumers = new Array<DeliveryConsumer | null>(capacity).fill(null)
    const deliveredAt = new Array<number>(capacity).fill(0)
    let n = 0
    for (let k = 0; k < this.used; k++) {
      const i = (this.head + k) & this.mask
      if (this.entries[i] === undefined) continue
      tags[n] = this.tags[i]!
      entries[n] = this.entries[i]
      queues[n] = this.queues[i]
      consumers[n] = this.consumers[i]!
      deliveredAt[n] = this.deliveredAt[i]!
      n++
    }
    this.tags = tags
    this.entries = entries
    this.queues = queues
    this.consumers = consumers
    this.deliveredAt = deliveredAt
    this.mask = capacity - 1
    this.head = 0
    this.used = n
  }

  /** The slot of a delivery held, or -1. */
  find(tag: number): number {
    let low = 0
    let high = this.used - 1
    while (low <= high) {
      const mid = (low + high) >>> 1
      const i = (this.head + mid) & this.mask
      const t = this.tags[i]!
      if (t < tag) low = mid + 1
      else if (t > tag) high = mid - 1
      else return this.entries[i] === undefined ? -1 : i
    }
    return -1
  }

  /** The oldest delivery's slot, or -1 when there is none (the front is never a hole). */
  oldest(): number {
    return this.used === 0 ? -1 : this.head
  }

  tagAt(i: number): number {
    return this.tags[i]!
  }
  entryAt(i: number): LoadedEntry {
    return this.entries[i]!
  }
  queueAt(i: number): Queue {
    return this.queues[i]!
  }
  consumerAt(i: number): DeliveryConsumer | null {
    return this.consumers[i]!
  }
  deliveredAtOf(i: number): number {
    return this.deliveredAt[i]!
  }

  /** The delivery in slot i, as a record. */
  at(i: number): Unacked {
    return {
      queue: this.queues[i]!,
      entry: this.entries[i]!,
      consumer: this.consumers[i]!,
      deliveredAt: this.deliveredAt[i]!,
    }
  }

  /** Settles the delivery in slot i: it leaves a hole, and the front moves past the holes it reaches. */
  remove(i: number): void {
    this.entries[i] = undefined
    this.queues[i] = undefined
    this.consumers[i] = null
    this.size--
    while (this.used > 0 && this.entries[this.head] === undefined) {
      this.head = (this.head + 1) & this.mask
      this.used--
    }
  }

  /**
   * Removes and returns the deliveries an ack, nack or reject names: deliveryTag alone, or with `multiple`
   * every delivery up to it (all of them for tag 0, as RabbitMQ). 406 PRECONDITION_FAILED for a tag not held.
   */
  take(deliveryTag: number, multiple: boolean): [number, Unacked][] {
    const out: [number, Unacked][] = []
    if (multiple) {
      if (deliveryTag !== 0 && this.find(deliveryTag) < 0) {
        throw preconditionFailed(`unknown delivery tag ${deliveryTag}`)
      }
      for (let i = this.oldest(); i >= 0; i = this.oldest()) {
        const tag = this.tags[i]!
        if (deliveryTag !== 0 && tag > deliveryTag) break
        out.push([tag, this.at(i)])
        this.remove(i)
      }
    } else {
      const i = this.find(deliveryTag)
      if (i < 0) throw preconditionFailed(`unknown delivery tag ${deliveryTag}`)
      out.push([deliveryTag, this.at(i)])
      this.remove(i)
    }
    return out
  }

  /** Every delivery held, oldest first, with its tag. */
  list(): [number, Unacked][] {
    const out: [number, Unacked][] = []
    for (let k = 0; k < this.used; k++) {
      const i = (this.head + k) & this.mask
      if (this.entries[i] !== undefined) out.push([this.tags[i]!, this.at(i)])
    }
    return out
  }

  clear(): void {
    for (let k = 0; k < this.used; k++) {
      const i = (this.head + k) & this.mask
      this.entries[i] = undefined
      this.queues[i] = undefined
      this.consumers[i] = null
    }
    this.head = 0
    this.used = 0
    this.size = 0
  }
}

/**
 * Requeues as RabbitMQ does: when the channel closes, a queue takes back all it had given the channel at
 * once; for recover, nack and reject, the channel requeues per queue and consumer tag (what basic.get took
 * first, then the consumers in tag order), and each group is delivered again before the next is requeued,
 * which decides the redelivery order (in a priority queue above all).
 */
export function requeueGrouped(deliveries: Unacked[], byConsumer: boolean): void {
  if (deliveries.length === 1) return deliveries[0]!.queue.requeue([deliveries[0]!.entry])
  const groups = new Map<Queue, Map<string, QueueEntry[]>>()
  for (const d of deliveries) {
    let byTag = groups.get(d.queue)
    if (!byTag) groups.set(d.queue, (byTag = new Map()))
    const tag = byConsumer ? (d.consumer?.tag ?? '') : ''
    let list = byTag.get(tag)
    if (!list) byTag.set(tag, (list = []))
    list.push(d.entry)
  }
  for (const [queue, byTag] of groups) {
    // '' (basic.get) sorts first, as Erlang's none before any binary tag
    const tags = [...byTag.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    tags.forEach((tag, i) => queue.requeue(byTag.get(tag)!, i < tags.length - 1))
  }
}
