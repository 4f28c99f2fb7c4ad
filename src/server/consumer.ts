// A basic.consume subscription: the queue hands it messages while it has credit, and it writes them to
// the client as basic.deliver + content header + body, straight into the connection's output buffer.
// It sees its channel as a ConsumingChannel (channel-roles.ts) only.
import type { LoadedEntry } from '../broker/message.js'
import type { Consumer } from '../broker/queue/consumer.js'
import type { Queue } from '../broker/queue/queue.js'
import type { ConsumingChannel, DeliveryConsumer } from './channel-roles.js'

export class ChannelConsumer implements Consumer, DeliveryConsumer {
  /** Messages delivered to this consumer and not yet settled */
  unacked = 0
  /** The start of its basic.deliver frames' payload, the same for each: class and method ids, consumer tag */
  private readonly deliverPrefix: Buffer

  constructor(
    readonly tag: string,
    readonly queue: Queue,
    readonly channel: ConsumingChannel,
    readonly noAck: boolean,
    readonly exclusive: boolean,
    /** basic.qos prefetch-count (global=false) in force when the consumer was created; 0 = unlimited */
    readonly prefetch: number,
    readonly priority: number,
  ) {
    const tagLength = Buffer.byteLength(tag)
    this.deliverPrefix = Buffer.alloc(5 + tagLength)
    this.deliverPrefix.writeUInt32BE(0x003c_003c) // basic.deliver
    this.deliverPrefix[4] = tagLength
    this.deliverPrefix.write(tag, 5)
  }

  canTake(): boolean {
    const ch = this.channel
    if (!ch.deliveriesFlowing) return false
    // A channel at its global prefetch limit takes nothing, not even for its no-ack consumers: RabbitMQ's
    // limiter suspends the whole channel
    const channelFull = ch.globalPrefetch !== 0 && ch.limiterVolume >= ch.globalPrefetch
    if (this.noAck) return !channelFull
    // Unacked deliveries keep their bodies in memory: without a prefetch limit, a consumer that never acks
    // would pull a whole paged-out backlog into memory. A channel holds at most the message memory budget,
    // and always at least one delivery (a budget of 0 pages everything out; it must not starve consumers).
    if (ch.unackedCount > 0 && ch.unackedBytes >= ch.host.config.messageMemoryBudget) return false
    if (this.prefetch !== 0 && this.unacked >= this.prefetch) return false
    return !channelFull
  }

  deliver(entry: LoadedEntry, queue: Queue): void {
    const ch = this.channel
    const tag = ch.track(entry, queue, this.noAck ? false : this)
    ch.stats.countDeliver(this.noAck, entry.redelivered)
    ch.deliver(this.deliverPrefix, tag, entry.redelivered, entry.message)
  }

  cancelledByQueue(): void {
    this.channel.consumerCancelledByServer(this)
  }
}
