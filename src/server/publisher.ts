// The publishing side of a channel: assembles basic.publish + content header + body frames into a
// Message, publishes it to the vhost (which routes it), and turns what became of it into basic.return for
// unroutable mandatory messages, a direct reply's delivery, flow control and publisher confirms.
// Confirms are decided in one place, Confirms (confirms.ts): each publish reports its outcome there once.
import { Message } from '../broker/message.js'
import { DIRECT_REPLY_QUEUE } from '../broker/direct-reply-to.js'
import type { PublishResult } from '../broker/router.js'
import type { Queue } from '../broker/queue/queue.js'
import { CONFIRM_ACK, CONFIRM_NACK, Confirms } from './confirms.js'
import { frameError, preconditionFailed, unexpectedFrame } from '../protocol/errors.js'
import { decodeBasicProperties, type BasicProperties } from '../protocol/generated/properties.js'
import { fieldTypeName, routingKeysOf } from '../protocol/field-value.js'
import { mayImpersonate } from '../auth/permissions.js'
import { expiryError } from '../broker/arguments.js'
import { encodeProperties } from '../protocol/properties.js'
import { Reader, ShortStringCache, copyBytes, equalBytes } from '../protocol/reader.js'
import type { PublishingChannel } from './channel-roles.js'

/**
 * Bodies smaller than this are copied out of the socket's read buffer instead of keeping a slice of it, once
 * something keeps the message: a publish written straight out to no-ack consumers only borrows the slice.
 */
const COPY_BODY_BELOW = 8192

/** A publish in a transaction: routed when published (as RabbitMQ does), delivered at commit. */
interface PendingPublish {
  queues: readonly Queue[]
  message: Message
  mandatory: boolean
}

/** RabbitMQ's parse of the expiration property: a non-negative integer of milliseconds, as a string. */
function expirationError(expiration: string): string | undefined {
  const m = /^([+-]?\d+)(.*)$/s.exec(expiration)
  if (!m) return 'no_integer'
  if (m[2] !== '') return `{leftover_string,${JSON.stringify(m[2])}}`
  return expiryError(Number(m[1]))
}

export class Publisher {
  private state: 'idle' | 'header' | 'body' = 'idle'
  private exchangeName = ''
  private routingKey = ''
  /** exchangeName and routingKey as on the wire, when they were read in place (readPublish) */
  private exchangeWire: Buffer | undefined = undefined
  private routingKeyWire: Buffer | undefined = undefined
  private mandatory = false
  /** The last exchange and routing key published to: the next publish usually names them again */
  private readonly exchangeCache = new ShortStringCache()
  private readonly routingKeyCache = new ShortStringCache()
  /** A basic.publish read by readPublish, until start takes it */
  readExchange = ''
  readRoutingKey = ''
  readMandatory = false
  readImmediate = false
  private readonly headerReader = new Reader(Buffer.alloc(0))
  /**
   * The last content header's properties, decoded and as on the wire. Publishers mostly send the same ones
   * message after message: the same bytes again share them (neither is ever modified), undefined before the
   * first header.
   */
  private propertiesRaw: Buffer | undefined = undefined
  private properties: BasicProperties = {}
  private bodySize = 0
  private bodyParts: Buffer[] = []
  private bodyReceived = 0
  /**
   * Whether the next single-frame body is lent as a view of the socket read (see complete): yes while the
   * publishes before it were all written out at once, no (copied at once) after one was kept.
   */
  private lendBodies = true

  /** Set by confirm.select */
  private confirms: Confirms | null = null
  private txPublishes: PendingPublish[] = []

  /** Publishes of the open transaction, not yet committed */
  get uncommitted(): number {
    return this.txPublishes.length
  }

  constructor(private readonly channel: PublishingChannel) {}

  /** A method frame arrived: it must not interrupt a message's content. */
  expectMethod(): void {
    if (this.state === 'idle') return
    const err =
      this.state === 'header'
        ? unexpectedFrame('expected content header for class 60, got non content header frame instead')
        : unexpectedFrame('expected content body, got non content body frame instead')
    // RabbitMQ blames the basic.publish whose content was interrupted
    err.classId = 60
    err.methodId = 40
    throw err
  }

  start(exchange: string, routingKey: string, mandatory: boolean): void {
    this.exchangeName = exchange
    this.routingKey = routingKey
    this.exchangeWire = undefined
    this.routingKeyWire = undefined
    this.mandatory = mandatory
    this.state = 'header'
  }

  /**
   * Reads a basic.publish frame's arguments in place, with no Method object and, when they repeat the last
   * publish's, no new strings (the decoder's checks and errors are the same); startRead then starts it.
   */
  readPublish(r: Reader): void {
    r.skip(6) // class id, method id, ticket
    this.readExchange = this.exchangeCache.read(r)
    this.readRoutingKey = this.routingKeyCache.read(r)
    const bits = r.u8()
    if (r.pos !== r.end) throw frameError(`cannot decode basic.publish: ${r.end - r.pos} bytes after its last argument`)
    this.readMandatory = (bits & 1) !== 0
    this.readImmediate = (bits & 2) !== 0
  }

  startRead(): void {
    this.exchangeName = this.readExchange
    this.routingKey = this.readRoutingKey
    this.exchangeWire = this.exchangeCache.wire
    this.routingKeyWire = this.routingKeyCache.wire
    this.mandatory = this.readMandatory
    this.state = 'header'
  }

  /** A content header frame: its payload is buf[start, end). */
  onHeader(buf: Buffer, start: number, end: number): void {
    if (this.state !== 'header') throw unexpectedFrame('expected method frame, got non method frame instead')
    const r = this.headerReader
    r.reset(buf, start, end)
    const classId = r.u16()
    r.u16() // weight, unused
    const bodySize = r.u64()
    if (classId !== 60) throw unexpectedFrame(`expected content header for class 60, got one for class ${classId}`)
    const raw = this.propertiesRaw
    if (raw === undefined || !equalBytes(buf, start + 12, end, raw)) {
      this.properties = decodeBasicProperties(r)
      this.propertiesRaw = copyBytes(buf, start + 12, end)
    }
    const maxSize = this.channel.host.config.maxMessageSize
    if (bodySize > maxSize) {
      this.state = 'idle'
      throw preconditionFailed(`message size ${bodySize} is larger than configured max size ${maxSize}`)
    }
    this.bodySize = bodySize
    if (bodySize === 0) return this.complete(Buffer.alloc(0))
    this.state = 'body'
    this.bodyReceived = 0
  }

  /** A content body frame: its payload is buf[start, end). */
  onBody(buf: Buffer, start: number, end: number): void {
    if (this.state !== 'body') throw unexpectedFrame('expected method frame, got non method frame instead')
    const length = end - start
    this.bodyReceived += length
    if (this.bodyReceived > this.bodySize) {
      throw frameError(`content body exceeds the ${this.bodySize} bytes its header declared`)
    }
    if (this.bodyReceived < this.bodySize) {
      this.bodyParts.push(length < COPY_BODY_BELOW ? copyBytes(buf, start, end) : buf.subarray(start, end))
      return
    }
    let body: Buffer
    let lent = false
    if (this.bodyParts.length === 0) {
      lent = length < COPY_BODY_BELOW && this.lendBodies
      body = length < COPY_BODY_BELOW && !lent ? copyBytes(buf, start, end) : buf.subarray(start, end)
    } else {
      this.bodyParts.push(buf.subarray(start, end))
      body = Buffer.concat(this.bodyParts, this.bodySize)
      this.bodyParts = []
    }
    this.complete(body, lent)
  }

  /** lent: the body is a view of a socket read that must not outlive the publish unless copied (ownBody). */
  private complete(body: Buffer, lent = false): void {
    this.state = 'idle'
    const ch = this.channel
    // RabbitMQ's order: write on the exchange (before it is looked up), the exchange, its internal flag, the
    // routing key against a topic permission, then user_id, which only an impersonator may set to another name
    const access = ch.host.access
    access.checkPublish(this.exchangeName)
    const exchange = ch.vhost.exchangeForPublish(this.exchangeName)
    access.checkTopic('write', exchange.type, exchange.name, this.routingKey)
    let properties = this.properties
    let propertiesRaw = this.propertiesRaw!
    const userId = properties.userId
    const user = ch.host.user.name
    if (userId !== undefined && userId !== user && !mayImpersonate(ch.host.user)) {
      throw preconditionFailed(`user_id property set to '${userId}' but authenticated user was '${user}'`)
    }
    if (properties.expiration !== undefined) {
      const error = expirationError(properties.expiration)
      if (error) throw preconditionFailed(`invalid expiration '${properties.expiration}': ${error}`)
    }
    // Sender-selected distribution: CC and BCC add routing keys; BCC is removed before delivery
    let extraKeys: string[] | undefined
    const headers = properties.headers
    let bccKeys: string[] | undefined
    if (headers && (headers['CC'] !== undefined || headers['BCC'] !== undefined)) {
      for (const key of ['CC', 'BCC']) {
        const v = headers[key]
        if (v !== undefined && !Array.isArray(v)) {
          throw preconditionFailed(`invalid message: {unacceptable_type_in_header,"${key}",${fieldTypeName(v)}}`)
        }
      }
      bccKeys = routingKeysOf(headers['BCC'])
      extraKeys = [...routingKeysOf(headers['CC']), ...bccKeys]
      if (headers['BCC'] !== undefined) {
        const { BCC: _bcc, ...rest } = headers
        properties = { ...properties, headers: rest }
        propertiesRaw = encodeProperties(properties)
      }
    }
    if (properties.replyTo === DIRECT_REPLY_QUEUE) {
      // RPC over direct reply-to: the request carries this channel's private reply address
      const address = ch.directReplyAddress
      if (address === undefined) throw preconditionFailed('fast reply consumer does not exist')
      properties = { ...properties, replyTo: address }
      propertiesRaw = encodeProperties(properties)
    }
    const message = new Message(
      this.exchangeName,
      this.routingKey,
      properties,
      propertiesRaw,
      body,
      bccKeys,
      this.exchangeWire,
      this.routingKeyWire,
    )
    if (lent) message.lendBody()
    // In a transaction it is routed now and enqueued at commit (a direct reply is delivered at once)
    const result = ch.vhost.publish(exchange, message, extraKeys, ch.inTx)
    // Written out to every queue's no-ack consumer (or to none, unroutable) and kept nowhere: the lent body
    // goes with the message. Otherwise it is copied now, and the next publishes copy theirs at once.
    const keptNowhere =
      !result.held && !result.stored && result.replyTo === undefined && message.deliveredAtOnce === result.queues.length
    if (!keptNowhere) message.ownBody()
    this.lendBodies = keptNowhere
    if (result.held) this.txPublishes.push({ queues: [...result.queues], message, mandatory: this.mandatory })
    else this.settle(result, message, this.mandatory)
  }

  /** What became of a publish, told to the client: a direct reply's delivery, basic.return, flow control, confirm. */
  private settle(result: PublishResult, message: Message, mandatory: boolean): void {
    const { queues } = result
    // A reply goes to the requesting channel, which may not take it (closing, or its client stopped reading)
    const delivered = result.replyTo ? result.replyTo.deliverReply(message, this.channel.host) : queues.length > 0
    for (let i = 0; i < queues.length; i++) {
      if (queues[i]!.backlogged) this.channel.host.throttleFor(queues[i]!)
    }
    if (!delivered && mandatory) this.channel.returnMessage(message)
    const counts = this.channel.vhost.stats.publishing
    const own = this.channel.stats
    counts.received++
    own.publish++
    if (this.confirms) counts.receivedConfirm++
    if (delivered) counts.routed++
    else if (mandatory) {
      counts.unroutableReturned++
      own.returnUnroutable++
    } else {
      counts.unroutableDropped++
      own.dropUnroutable++
    }
    // Settled in its turn: after every earlier publish, some of which may still wait for a sync
    this.confirms?.record(result.refused ? CONFIRM_NACK : result.stored ? result.batch : CONFIRM_ACK)
  }

  get confirming(): boolean {
    return this.confirms !== null
  }

  /** Publishes not yet confirmed (acked or nacked) to the publisher */
  get unconfirmed(): number {
    return this.confirms?.unconfirmed ?? 0
  }

  enableConfirms(): void {
    const vhost = this.channel.vhost
    this.confirms ??= new Confirms(this.channel, vhost.durability, vhost.stats.publishing, this.channel.stats)
  }

  /** Publishes the transaction's messages: whether any was written to the store, and any was refused. */
  commit(): { stored: boolean; refused: boolean } {
    const publishes = this.txPublishes
    this.txPublishes = []
    let stored = false
    let refused = false
    for (const p of publishes) {
      // a queue deleted since the publish no longer takes the message: with none left it is returned
      const result = this.channel.vhost.enqueue(p.queues, p.message)
      stored ||= result.stored
      refused ||= result.refused
      this.settle(result, p.message, p.mandatory)
    }
    return { stored, refused }
  }

  rollback(): void {
    this.txPublishes = []
    this.state = 'idle'
    this.bodyParts = []
  }
}
