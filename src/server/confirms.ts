// Publisher confirms of one channel, decided in one place: every publish under confirm.select gets one
// record, in publish order, settled exactly once, and confirms leave strictly in publish order. So a
// basic.ack with multiple=true can only cover tags that are settled as acks: never a refused publish,
// never one whose store batch is not yet synced, whatever path (queue, store, direct reply-to) decided it.
import type { DurableWaiter, Durability } from '../broker/durability.js'
import { Deque } from '../broker/queue/deque.js'
import type { Method } from '../protocol/generated/methods.js'
import type { ChannelCounters, PublishCounters } from '../broker/stats.js'

/** A publish whose outcome is known now: acked once the publishes before it are. */
export const CONFIRM_ACK = 0
/** A publish refused by a queue (or by the store): nacked once the publishes before it are settled. */
export const CONFIRM_NACK = -1
// Any other record is a store batch number (> 0): acked when that batch is durable, nacked if it fails.

/** What the confirms need of their channel. */
export interface ConfirmTarget {
  readonly isOpen: boolean
  send(method: Method): void
}

export class Confirms implements DurableWaiter {
  private lastSeq = 0
  /** Highest tag settled as an ack, not yet sent */
  private ackUpTo = 0
  /** Highest tag a basic.ack or basic.nack has covered */
  private sentUpTo = 0
  private flushScheduled = false
  /**
   * The records of publishes not yet settled, from tag firstSeq on: the head always waits for a store
   * batch, and whatever follows it waits behind it, so that confirms keep publish order. Numbers rather
   * than objects: nothing is allocated per publish.
   */
  private readonly waiting = new Deque<number>()
  private firstSeq = 0

  constructor(
    private readonly channel: ConfirmTarget,
    /** Set whenever a publish can be stored (the vhost has a message store) */
    private readonly durability: Pick<Durability, 'wait'> | undefined,
    /** Counts the publishes acked (the vhost's) */
    private readonly counts: Pick<PublishCounters, 'confirmed'> = { confirmed: 0 },
    /** Counts them for the channel too (its message_stats.confirm) */
    private readonly channelCounts: Pick<ChannelCounters, 'confirm'> = { confirm: 0 },
  ) {}

  /** Records the next publish: CONFIRM_ACK, CONFIRM_NACK or the store batch it was written in. */
  record(outcome: number): void {
    const seq = ++this.lastSeq
    if (this.waiting.length === 0) {
      if (outcome === CONFIRM_ACK) return this.ack(seq)
      if (outcome === CONFIRM_NACK) return this.nack(seq)
      this.firstSeq = seq
      this.durability!.wait(this)
    }
    this.waiting.push(outcome)
  }

  /** Publishes not yet acked or nacked to the publisher */
  get unconfirmed(): number {
    return this.lastSeq - this.sentUpTo
  }

  onDurable(durableBatch: number): boolean {
    return this.settleUpTo(durableBatch, true)
  }

  /** Publishes stored in the failed batch are nacked, so the publisher knows to publish them again. */
  onBatchFailed(failedBatch: number): boolean {
    return this.settleUpTo(failedBatch, false)
  }

  /**
   * Batches up to `batch` are settled (`batch` itself durable or not): the records from the head on are
   * settled until one that waits for a later batch.
   */
  private settleUpTo(batch: number, durable: boolean): boolean {
    if (!this.channel.isOpen) {
      this.waiting.clear()
      return false
    }
    for (let outcome = this.waiting.peek(); outcome !== undefined && outcome <= batch; outcome = this.waiting.peek()) {
      this.waiting.shift()
      const seq = this.firstSeq++
      // A stored record reached here was written in `batch` itself: batches settle in order, and this
      // waiter hears each one from the first write it waits for
      if (outcome === CONFIRM_ACK || (outcome > 0 && durable)) this.ack(seq)
      else this.nack(seq)
    }
    return this.waiting.length > 0
  }

  /** Acks are coalesced: one basic.ack per tick covers every publish settled in it. */
  private ack(seq: number): void {
    this.ackUpTo = seq
    if (this.flushScheduled) return
    this.flushScheduled = true
    process.nextTick(this.flush)
  }

  /** The acks before it go out first, then the nack. */
  private nack(seq: number): void {
    this.flush()
    if (!this.channel.isOpen) return
    // As RabbitMQ: multiple is set, truthfully, since every tag below it is already settled
    this.channel.send({ name: 'basic.nack', deliveryTag: seq, multiple: true, requeue: true })
    this.sentUpTo = seq
  }

  private readonly flush = (): void => {
    this.flushScheduled = false
    const upTo = this.ackUpTo
    if (upTo <= this.sentUpTo || !this.channel.isOpen) return
    this.channel.send({ name: 'basic.ack', deliveryTag: upTo, multiple: upTo - this.sentUpTo > 1 })
    this.counts.confirmed += upTo - this.sentUpTo
    this.channelCounts.confirm += upTo - this.sentUpTo
    this.sentUpTo = upTo
  }
}
