// A published message, shared by every queue it is routed to. Its properties are kept as the publisher
// encoded them, so delivering them costs a copy, not an encoding.
import type { FieldTable } from '../protocol/field-value.js'
import type { BasicProperties } from '../protocol/generated/properties.js'

export class Message {
  constructor(
    readonly exchange: string,
    readonly routingKey: string,
    readonly properties: BasicProperties,
    /** The content header's property flags and values, as on the wire */
    readonly propertiesRaw: Buffer,
    readonly body: Buffer,
    /** BCC routing keys: removed from the headers before delivery, still used to route a dead letter */
    readonly bccKeys?: readonly string[],
    /**
     * exchange and routingKey as short strings on the wire (length octet, bytes), when the publish came with
     * them: a delivery copies them instead of encoding the strings again. Shared, never written to.
     */
    readonly exchangeWire?: Buffer,
    readonly routingKeyWire?: Buffer,
  ) {}

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
