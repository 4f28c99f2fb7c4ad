// A published message, shared by every queue it is routed to. Its properties are kept as the publisher
// encoded them, so delivering them costs a copy, not an encoding; they are decoded only when something asks
// for them (a message read back from a packed queue or the store is often just delivered).
import type { FieldTable } from '../protocol/field-value.js'
import { decodeBasicProperties, type BasicProperties } from '../protocol/generated/properties.js'
import { Reader } from '../protocol/reader.js'

export class Message {
  private decoded: BasicProperties | undefined
  /**
   * The body is a view of the socket read it arrived in, lent for the publish (see ownBody): a publish that
   * every queue hands straight to a no-ack consumer is written out and forgotten with no copy of its own.
   */
  private borrowed = false
  /**
   * Deliveries written out during the publish to consumers that keep nothing (no-ack), counted by the queues:
   * the publisher compares it with the queues routed to, to know whether anything kept the message.
   */
  deliveredAtOnce = 0

  constructor(
    readonly exchange: string,
    readonly routingKey: string,
    /** The decoded properties when the caller has them; undefined: decoded from propertiesRaw when asked */
    properties: BasicProperties | undefined,
    /** The content header's property flags and values, as on the wire */
    readonly propertiesRaw: Buffer,
    /** Never written to; replaced only by ownBody, by a copy of the same bytes */
    public body: Buffer,
    /** BCC routing keys: removed from the headers before delivery, still used to route a dead letter */
    readonly bccKeys?: readonly string[],
    /**
     * exchange and routingKey as short strings on the wire (length octet, bytes), when the publish came with
     * them: a delivery copies them instead of encoding the strings again. Shared, never written to.
     */
    readonly exchangeWire?: Buffer,
    readonly routingKeyWire?: Buffer,
  ) {
    this.decoded = properties
  }

  /** Marks the body as a view of a socket read, lent until the publish is over (ownBody copies it then). */
  lendBody(): void {
    this.borrowed = true
  }

  /**
   * Anything that keeps the message beyond its publish, or its body in another message, calls this first: a
   * lent body is replaced by a copy, so that a queued message never pins the (much larger) read it came in.
   */
  ownBody(): void {
    if (!this.borrowed) return
    this.borrowed = false
    this.body = Buffer.from(this.body)
  }

  get properties(): BasicProperties {
    return (this.decoded ??= decodeBasicProperties(new Reader(this.propertiesRaw)))
  }

  get persistent(): boolean {
    return this.properties.deliveryMode === 2
  }

  get headers(): FieldTable | undefined {
    return this.properties.headers
  }
}

/** An entry whose message is in memory: what a queue hands to consumers. */
export type LoadedEntry = QueueEntry & { message: Message }

/** A message's place in one queue. */
export interface QueueEntry {
  /**
   * The message; null while it is paged out (kept only in the message store, read back when it
   * leaves the queue), so that a long queue costs memory per message, not per byte.
   */
  message: Message | null
  /** Body size in bytes, known even while paged out */
  readonly size: number
  /** Position in the queue: requeued messages go back to their original place */
  readonly seq: number
  redelivered: boolean
  /** When it expires (ms since the epoch), 0 for never */
  readonly expiresAt: number
  /** Where the message store keeps it for this queue, -1 when not stored */
  position: number
}
