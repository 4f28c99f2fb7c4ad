// A channel: dispatches the methods of the basic, confirm and tx classes (exchange and queue methods go to
// entity-methods.ts), assembles published content (publisher.ts), tracks deliveries until they are
// settled, and closes with an error when a method breaks a rule. It sees its connection as a ChannelHost.
import type { LoadedEntry, Message } from '../broker/message.js'
import type { Queue } from '../broker/queue/queue.js'
import { DIRECT_REPLY_QUEUE, type ReplyTarget } from '../broker/direct-reply-to.js'
import { generateName } from '../broker/names.js'
import type { Vhost } from '../broker/vhost.js'
import { ChannelCounters } from '../broker/stats.js'
import {
  accessRefused,
  notAllowed,
  notFound,
  notImplemented,
  preconditionFailed,
  commandInvalid,
  type AmqpError,
} from '../protocol/errors.js'
import { fieldNumber, type FieldTable } from '../protocol/field-value.js'
import { ReplyCode } from '../protocol/generated/constants.js'
import type { Method } from '../protocol/generated/methods.js'
import { Publisher } from './publisher.js'
import type { ChannelHost } from './channel-host.js'
import type { ConsumingChannel, DeliveryConsumer, PublishingChannel } from './channel-roles.js'
import { ChannelConsumer } from './consumer.js'
import { entityMethod, type EntityChannel } from './entity-methods.js'
import { LongTimer } from '../util/long-timer.js'
import { turnNow } from '../util/turn-clock.js'
import { UnackedDeliveries, requeueGrouped, type Unacked } from './unacked-deliveries.js'

type TxOp = { kind: 'settle'; deliveries: [number, Unacked][]; requeue: boolean | null }

export class Channel implements ReplyTarget, PublishingChannel, ConsumingChannel, EntityChannel {
  /** The direct reply-to consumer of this channel: its tag and its reply address */
  private directReply: { tag: string; address: string } | undefined
  /** Replies dropped because this connection's client stopped reading them */
  private repliesDropped = 0
  private closing = false
  private released = false
  private readonly consumers = new Map<string, ChannelConsumer>()
  private readonly unacked = new UnackedDeliveries()
  private nextDeliveryTag = 1
  unackedCount = 0
  /**
   * What the channel's global prefetch limit is measured against, kept as RabbitMQ's limiter keeps its
   * volume: set to every unacked delivery (basic.get's too) when the limit is first set, then up by each
   * delivery to a consumer that needs an ack, down by each of those settled; basic.get never counts after.
   */
  limiterVolume = 0
  /** Body bytes of the deliveries waiting for an ack: they stay in memory until settled */
  unackedBytes = 0
  /** basic.qos prefetch-count for consumers created from now on (global=false) */
  private consumerPrefetch = 0
  /** basic.qos prefetch-count shared by all consumers of the channel (global=true) */
  globalPrefetch = 0
  /** The last queue declared here, for the empty-name shortcut of bind, consume, purge... */
  lastQueue = ''
  private txOps: TxOp[] | null = null
  /** consumer_timeout: one timer per channel, for the oldest unacked delivery, armed only while there is one */
  private ackTimer: LongTimer | undefined
  readonly publisher: Publisher
  /** RabbitMQ's per-channel message_stats (publishes, deliveries, gets, acks), read by the management API */
  readonly stats = new ChannelCounters()

  constructor(
    readonly id: number,
    /** The connection, through the little of it a channel may use */
    readonly host: ChannelHost,
  ) {
    this.publisher = new Publisher(this)
  }

  get vhost(): Vhost {
    return this.host.vhost
  }

  get hasConsumers(): boolean {
    return this.consumers.size > 0 || this.directReply !== undefined
  }

  /** The consumers of this channel (the management API lists them) */
  get consumerList(): Iterable<ChannelConsumer> {
    return this.consumers.values()
  }

  /** The deliveries waiting for an ack, with their queue (read by the management API) */
  get unackedEntries(): Iterable<Unacked> {
    return this.unacked.list().map(([, unacked]) => unacked)
  }

  /** basic.qos prefetch-count (global=false) given to consumers created from now on */
  get prefetchCount(): number {
    return this.consumerPrefetch
  }

  /** In confirm mode (confirm.select) */
  get confirming(): boolean {
    return this.publisher.confirming
  }

  get inTx(): boolean {
    return this.txOps !== null
  }

  /** Deliveries acked, nacked or rejected in the open transaction, not yet committed (read when scraped) */
  get uncommittedAcks(): number {
    let n = 0
    for (const op of this.txOps ?? []) n += op.deliveries.length
    return n
  }

  get isOpen(): boolean {
    return !this.closing && !this.released
  }

  /** Whether consumers may receive now: the channel is open and the socket is not backed up. */
  get deliveriesFlowing(): boolean {
    return !this.closing && !this.host.backedUp
  }

  send(method: Method): void {
    this.host.sendMethod(this.id, method)
  }

  deliver(prefix: Buffer, deliveryTag: number, redelivered: boolean, message: Message): void {
    this.host.sendDelivery(this.id, prefix, deliveryTag, redelivered, message)
  }

  /** Content header and body of a message, after its basic.deliver / get-ok / return method frame. */
  writeContent(m: Message): void {
    this.host.sendContent(this.id, m)
  }

  /** A content header frame: its payload is buf[start, end). */
  onContentHeader(buf: Buffer, start: number, end: number): void {
    if (this.closing) return
    this.publisher.onHeader(buf, start, end)
  }

  /** A content body frame: its payload is buf[start, end). */
  onContentBody(buf: Buffer, start: number, end: number): void {
    if (this.closing) return
    this.publisher.onBody(buf, start, end)
  }

  /**
   * The basic.publish the connection read in place (Publisher.readPublish) on this open channel: what
   * handleMethod does for it, in the same order.
   */
  publishRead(): void {
    this.publisher.expectMethod()
    if (this.publisher.readImmediate) throw notImplemented('immediate=true')
    this.host.notePublish()
    this.publisher.startRead()
  }

  handleMethod(m: Method): void {
    if (this.closing) {
      // After our channel.close, everything but the close handshake is discarded
      if (m.name === 'channel.close-ok') this.finishClose()
      else if (m.name === 'channel.close') this.send({ name: 'channel.close-ok' })
      return
    }
    this.publisher.expectMethod()
    switch (m.name) {
      case 'channel.flow':
        // Like RabbitMQ, which stopped honouring client-side flow control: only active=true is accepted
        if (!m.active) throw notImplemented('active=false')
        this.send({ name: 'channel.flow-ok', active: true })
        return
      case 'channel.flow-ok':
        return
      case 'channel.close':
        this.release()
        this.send({ name: 'channel.close-ok' })
        this.host.channelClosed(this.id)
        return
      case 'channel.close-ok':
        return
      case 'access.request':
        return this.send({ name: 'access.request-ok', ticket: 1 })

      case 'exchange.declare':
      case 'exchange.delete':
      case 'exchange.bind':
      case 'exchange.unbind':
      case 'queue.declare':
      case 'queue.bind':
      case 'queue.unbind':
      case 'queue.purge':
      case 'queue.delete':
        return entityMethod(this, m)

      case 'basic.qos':
        if (m.prefetchSize !== 0) throw notImplemented(`prefetch_size!=0 (${m.prefetchSize})`)
        // RabbitMQ: global=true limits the channel; global=false limits each new consumer and lifts the channel limit
        if (m.global) {
          // a limit set afresh starts from everything unacked, basic.get's included (RabbitMQ's limit_prefetch)
          if (this.globalPrefetch === 0) this.limiterVolume = this.unackedCount
          this.globalPrefetch = m.prefetchCount
          if (m.prefetchCount === 0) this.limiterVolume = 0
        } else {
          this.consumerPrefetch = m.prefetchCount
          this.globalPrefetch = 0
          this.limiterVolume = 0
        }
        this.send({ name: 'basic.qos-ok' })
        return this.wakeConsumers()
      case 'basic.consume':
        return this.consume(this.queueName(m.queue), m.consumerTag, m.noAck, m.exclusive, m.noWait, m.arguments)
      case 'basic.cancel':
        return this.cancel(m.consumerTag, m.noWait)
      case 'basic.publish':
        if (m.immediate) throw notImplemented('immediate=true')
        this.host.notePublish()
        return this.publisher.start(m.exchange, m.routingKey, m.mandatory)
      case 'basic.get':
        return this.get(this.queueName(m.queue), m.noAck)
      case 'basic.ack':
        return this.settle(m.deliveryTag, m.multiple, null)
      case 'basic.nack':
        return this.settle(m.deliveryTag, m.multiple, m.requeue)
      case 'basic.reject':
        return this.settle(m.deliveryTag, false, m.requeue)
      case 'basic.recover-async':
      case 'basic.recover':
        if (!m.requeue) throw notImplemented('requeue=false')
        // recover-ok first, then the redeliveries, in RabbitMQ's order
        if (m.name === 'basic.recover') this.send({ name: 'basic.recover-ok' })
        this.requeueAll(true)
        return

      case 'confirm.select':
        if (this.inTx) throw preconditionFailed('cannot switch from tx to confirm mode')
        this.publisher.enableConfirms()
        if (!m.noWait) this.send({ name: 'confirm.select-ok' })
        return
      case 'tx.select':
        if (this.publisher.confirming) throw preconditionFailed('cannot switch from confirm to tx mode')
        this.txOps ??= []
        return this.send({ name: 'tx.select-ok' })
      case 'tx.commit': {
        if (!this.txOps) throw preconditionFailed('channel is not transactional')
        const durability = this.vhost.durability
        const { stored, refused } = this.commit()
        // commit-ok only once the transaction's persistent messages are on disk
        if (stored && durability) {
          const batch = durability.currentBatch
          durability.afterBatch(
            batch,
            () => this.isOpen && this.finishCommit(refused),
            // Not durable: a refusal, as a nack is for a confirm
            () => this.isOpen && this.finishCommit(true),
          )
          return
        }
        return this.finishCommit(refused)
      }
      case 'tx.rollback':
        if (!this.txOps) throw preconditionFailed('channel is not transactional')
        this.rollback()
        return this.send({ name: 'tx.rollback-ok' })

      default:
        throw commandInvalid(`unexpected method ${m.name} from a client`)
    }
  }

  /** The spec's shortcut: an empty queue name means the last queue declared on this channel. */
  queueName(name: string): string {
    if (name !== '') return name
    if (this.lastQueue === '') throw notFound('no previously declared queue')
    return this.lastQueue
  }

  /** With the empty-name shortcut, an empty routing key means the queue's name too. */
  routingKeyFor(queueField: string, routingKey: string): string {
    return queueField === '' && routingKey === '' ? this.lastQueue : routingKey
  }

  private consume(
    queueName: string,
    requestedTag: string,
    noAck: boolean,
    exclusive: boolean,
    noWait: boolean,
    args: FieldTable,
  ): void {
    if (queueName === DIRECT_REPLY_QUEUE) return this.consumeReplies(requestedTag, noAck, noWait)
    this.host.access.check('read', 'queue', queueName)
    const queue = this.vhost.getQueue(queueName, this.host)
    const tag = requestedTag === '' ? generateName('amq.ctag-') : requestedTag
    if (this.consumers.has(tag)) throw notAllowed(`attempt to reuse consumer tag '${tag}'`)
    // RabbitMQ never grants an exclusive consumer on a single-active-consumer queue
    const exclusiveRefused = queue.consumerCount > 0 || queue.settings.singleActiveConsumer
    if (queue.hasExclusiveConsumer || (exclusive && exclusiveRefused)) {
      throw accessRefused(`queue '${queue.name}' in vhost '${this.vhost.name}' in exclusive use`)
    }
    const priority = fieldNumber(args['x-priority']) ?? 0
    const consumer = new ChannelConsumer(tag, queue, this, noAck, exclusive, this.consumerPrefetch, priority)
    this.consumers.set(tag, consumer)
    if (!noWait) this.send({ name: 'basic.consume-ok', consumerTag: tag })
    queue.addConsumer(consumer)
  }

  /** Direct reply-to: no queue; replies to this channel's address are delivered to this consumer. */
  private consumeReplies(requestedTag: string, noAck: boolean, noWait: boolean): void {
    if (!noAck) throw preconditionFailed('reply consumer cannot acknowledge')
    if (this.directReply) throw preconditionFailed('reply consumer already set')
    const tag = requestedTag === '' ? generateName('amq.ctag-') : requestedTag
    if (this.consumers.has(tag)) throw notAllowed(`attempt to reuse consumer tag '${tag}'`)
    this.directReply = { tag, address: this.vhost.directReplyTo.register(this) }
    if (!noWait) this.send({ name: 'basic.consume-ok', consumerTag: tag })
  }

  get directReplyAddress(): string | undefined {
    return this.directReply?.address
  }

  /**
   * A reply for this channel's direct reply-to consumer. A reply that backs up this connection's output
   * throttles the replier until it drains (ChannelHost.throttleForReply); once the output is twice over the
   * limit (the client has stopped reading), replies are dropped like replies to a consumer that is gone.
   */
  deliverReply(message: Message, replier: ChannelHost): boolean {
    if (!this.directReply || this.closing) return false
    const conn = this.host
    if (conn.bufferedOutput > 2 * conn.outputLimit) {
      if (this.repliesDropped++ % 1000 === 0) {
        conn.log.warn(
          { dropped: this.repliesDropped },
          'direct reply-to: the client does not read its replies; reply dropped',
        )
      }
      return false
    }
    this.send({
      name: 'basic.deliver',
      consumerTag: this.directReply.tag,
      // RabbitMQ does not count replies in the channel's delivery tags: each arrives with tag 1
      deliveryTag: 1,
      redelivered: false,
      exchange: message.exchange,
      routingKey: message.routingKey,
    })
    this.writeContent(message)
    if (conn.backedUp) replier.throttleForReply(conn)
    return true
  }

  private stopReplies(): void {
    if (!this.directReply) return
    this.vhost.directReplyTo.unregister(this.directReply.address)
    this.directReply = undefined
  }

  private cancel(tag: string, noWait: boolean): void {
    if (this.directReply?.tag === tag) this.stopReplies()
    const consumer = this.consumers.get(tag)
    if (consumer) {
      this.consumers.delete(tag)
      consumer.queue.removeConsumer(consumer)
    }
    if (!noWait) this.send({ name: 'basic.cancel-ok', consumerTag: tag })
  }

  /** The queue was deleted: basic.cancel to clients that understand it. */
  consumerCancelledByServer(consumer: DeliveryConsumer): void {
    if (this.consumers.get(consumer.tag) !== consumer) return
    this.consumers.delete(consumer.tag)
    if (this.host.consumerCancelNotify && !this.closing) {
      this.send({ name: 'basic.cancel', consumerTag: consumer.tag, noWait: true })
    }
  }

  private get(queueName: string, noAck: boolean): void {
    this.host.access.check('read', 'queue', queueName)
    const queue = this.vhost.getQueue(queueName, this.host)
    const entry = queue.take(noAck)
    if (!entry) {
      this.stats.getEmpty++
      return this.send({ name: 'basic.get-empty' })
    }
    this.stats.countGet(noAck, entry.redelivered)
    const m = entry.message
    this.send({
      name: 'basic.get-ok',
      deliveryTag: this.track(entry, queue, noAck ? false : null),
      redelivered: entry.redelivered,
      exchange: m.exchange,
      routingKey: m.routingKey,
      messageCount: queue.messageCount,
    })
    this.writeContent(m)
  }

  /**
   * Assigns the next delivery tag; remembers the delivery until it is settled unless noAck.
   * consumer: the consumer, null for an acked basic.get, false for a no-ack delivery.
   */
  track(entry: LoadedEntry, queue: Queue, consumer: DeliveryConsumer | null | false): number {
    const tag = this.nextDeliveryTag++
    if (consumer === false) return tag
    const timeout = this.host.config.consumerTimeout
    this.unacked.add(tag, queue, entry, consumer, timeout > 0 ? turnNow() : 0)
    this.unackedCount++
    this.unackedBytes += entry.size
    if (consumer) {
      consumer.unacked++
      if (this.globalPrefetch !== 0) this.limiterVolume++
    }
    if (timeout > 0 && !this.ackTimer?.pending) this.armAckTimer(timeout)
    return tag
  }

  /** Arms the consumer_timeout timer for the oldest unacked delivery's deadline. */
  private armAckTimer(timeout: number): void {
    const oldest = this.unacked.oldest()
    if (oldest < 0) return
    this.ackTimer ??= new LongTimer(() => this.checkAckTimeout())
    this.ackTimer.startAt(this.unacked.deliveredAtOf(oldest) + timeout + 1)
  }

  /**
   * consumer_timeout, as RabbitMQ: a delivery unacked for longer closes the channel with 406 (its deliveries
   * go back to their queues). Only the oldest delivery is checked (the map keeps delivery order); the timer
   * is re-armed for its deadline, so an ack costs nothing here.
   */
  private checkAckTimeout(): void {
    const timeout = this.host.config.consumerTimeout
    const oldest = this.unacked.oldest()
    if (!this.isOpen || oldest < 0) return // the next tracked delivery arms the timer again
    const deliveryTag = this.unacked.tagAt(oldest)
    const d = this.unacked.at(oldest)
    if (Date.now() - d.deliveredAt <= timeout) return this.armAckTimer(timeout)
    this.host.log.warn(
      { channel: this.id, deliveryTag, consumerTag: d.consumer?.tag, queue: d.queue.name, timeout },
      'delivery acknowledgement timed out (consumer_timeout): closing the channel',
    )
    this.closeWithError(
      preconditionFailed(
        `delivery acknowledgement on channel ${this.id} timed out. Timeout value used: ${timeout} ms. ` +
          'This timeout value can be configured, see consumers doc guide to learn more',
      ),
    )
  }

  /** ack (requeue null), nack or reject. */
  private settle(deliveryTag: number, multiple: boolean, requeue: boolean | null): void {
    if (requeue === null && !this.txOps) return this.ack(deliveryTag, multiple)
    const deliveries = this.collect(deliveryTag, multiple)
    if (this.txOps) {
      this.txOps.push({ kind: 'settle', deliveries, requeue })
      return
    }
    this.apply(deliveries, requeue)
  }

  /**
   * basic.ack outside a transaction, the common case: what collect and apply do, without a record per
   * delivery. Each delivery is settled in tag order as it is taken from the unacked deliveries.
   */
  private ack(deliveryTag: number, multiple: boolean): void {
    const unacked = this.unacked
    let toConsumers = 0
    if (multiple) {
      // RabbitMQ: tag 0 with multiple means everything outstanding; otherwise the tag must be outstanding
      if (deliveryTag !== 0 && unacked.find(deliveryTag) < 0) {
        throw preconditionFailed(`unknown delivery tag ${deliveryTag}`)
      }
      for (let i = unacked.oldest(); i >= 0; i = unacked.oldest()) {
        if (deliveryTag !== 0 && unacked.tagAt(i) > deliveryTag) break
        if (this.ackAt(i)) toConsumers++
      }
    } else {
      const i = unacked.find(deliveryTag)
      if (i < 0) throw preconditionFailed(`unknown delivery tag ${deliveryTag}`)
      if (this.ackAt(i)) toConsumers++
    }
    if (this.globalPrefetch !== 0) this.limiterVolume = Math.max(0, this.limiterVolume - toConsumers)
    this.wakeConsumers()
  }

  /** Acks the delivery in slot i of the unacked deliveries; whether it went to a consumer (not basic.get). */
  private ackAt(i: number): boolean {
    const unacked = this.unacked
    const entry = unacked.entryAt(i)
    const queue = unacked.queueAt(i)
    const consumer = unacked.consumerAt(i)
    unacked.remove(i)
    this.unackedCount--
    this.unackedBytes -= entry.size
    this.stats.ack++
    if (consumer) consumer.unacked--
    queue.ack(entry)
    return consumer !== null
  }

  /** Removes the deliveries an ack/nack/reject names from the unacked deliveries (406 for unknown tags). */
  private collect(deliveryTag: number, multiple: boolean): [number, Unacked][] {
    const out = this.unacked.take(deliveryTag, multiple)
    for (const [, d] of out) {
      this.unackedCount--
      this.unackedBytes -= d.entry.size
      if (d.consumer) d.consumer.unacked--
    }
    return out
  }

  private apply(deliveries: [number, Unacked][], requeue: boolean | null): void {
    this.releaseVolume(deliveries.map(([, d]) => d))
    if (requeue)
      requeueGrouped(
        deliveries.map(([, d]) => d),
        true,
      )
    else if (requeue === null) {
      this.stats.ack += deliveries.length
      for (const [, d] of deliveries) d.queue.ack(d.entry)
    } else for (const [, d] of deliveries) d.queue.reject(d.entry)
    this.wakeConsumers()
  }

  /** Settled deliveries free the global prefetch limit, those made to consumers only (RabbitMQ's notify_limiter). */
  private releaseVolume(settled: Unacked[]): void {
    if (this.globalPrefetch === 0) return
    let count = 0
    for (const d of settled) if (d.consumer) count++
    this.limiterVolume = Math.max(0, this.limiterVolume - count)
  }

  private requeueAll(byConsumer: boolean): void {
    const all = this.unacked.list().map(([, d]) => d)
    this.unacked.clear()
    this.unackedCount = 0
    this.unackedBytes = 0
    this.releaseVolume(all)
    for (const c of this.consumers.values()) c.unacked = 0
    if (all.length > 0) requeueGrouped(all, byConsumer)
  }

  /** Applies the transaction; returns whether a message was written to the store, and any was refused. */
  private commit(): { stored: boolean; refused: boolean } {
    const ops = this.txOps!
    this.txOps = []
    const outcome = this.publisher.commit()
    for (const op of ops) this.apply(op.deliveries, op.requeue)
    return outcome
  }

  /** As RabbitMQ: a transaction with a publish a queue or the store refused fails; the others stand. */
  private finishCommit(refused: boolean): void {
    if (!refused) return this.send({ name: 'tx.commit-ok' })
    const err = preconditionFailed('partial tx completion')
    err.classId = 90
    err.methodId = 20
    this.closeWithError(err)
  }

  private rollback(): void {
    this.publisher.rollback()
    this.restoreTxDeliveries()
    // Unacked again, counting from their delivery (the timer may have found none meanwhile and stopped)
    const timeout = this.host.config.consumerTimeout
    if (timeout > 0) this.armAckTimer(timeout)
  }

  /** Rolled-back (or never committed) acks leave their messages unacknowledged, as before the acks. */
  private restoreTxDeliveries(): void {
    const ops = this.txOps!
    this.txOps = []
    const restored: [number, Unacked][] = this.unacked.list()
    for (const op of ops) {
      for (const [tag, d] of op.deliveries) {
        restored.push([tag, d])
        this.unackedCount++
        this.unackedBytes += d.entry.size
        if (d.consumer) d.consumer.unacked++
      }
    }
    restored.sort((a, b) => a[0] - b[0])
    this.unacked.clear()
    for (const [tag, d] of restored) this.unacked.add(tag, d.queue, d.entry, d.consumer, d.deliveredAt)
  }

  /** Credit may have freed up: let the queues we consume from deliver again. */
  wakeConsumers(): void {
    for (const c of this.consumers.values()) c.queue.scheduleDrain()
  }

  /** A soft error: channel.close to the client, then discard its frames until close-ok. */
  closeWithError(err: AmqpError): void {
    if (this.closing) return
    this.send({
      name: 'channel.close',
      replyCode: err.replyCode,
      replyText: err.replyText,
      classId: err.classId,
      methodId: err.methodId,
    })
    this.release()
    this.closing = true
  }

  private finishClose(): void {
    this.host.channelClosed(this.id)
  }

  /** Gives back what the channel holds: consumers are cancelled and unacked messages requeued. */
  release(): void {
    if (this.released) return
    this.released = true
    this.ackTimer?.stop()
    this.stopReplies()
    for (const c of this.consumers.values()) c.queue.removeConsumer(c)
    this.consumers.clear()
    // acks and rejects of an uncommitted transaction never happened: their messages go back with the rest
    if (this.txOps) this.restoreTxDeliveries()
    this.txOps = null
    this.publisher.rollback()
    this.requeueAll(false)
  }

  /** basic.return for a mandatory message that reached no queue. */
  returnMessage(message: Message): void {
    this.send({
      name: 'basic.return',
      replyCode: ReplyCode.NO_ROUTE,
      replyText: 'NO_ROUTE',
      exchange: message.exchange,
      routingKey: message.routingKey,
    })
    this.writeContent(message)
  }
}
