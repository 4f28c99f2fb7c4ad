// What a channel (and its publisher and consumers) may ask of its connection, and nothing more: this is
// the seam between the per-connection code (connection.ts: socket, dispatch, closes, flow control) and
// the per-channel code (channel.ts, publisher.ts, consumer.ts), which never sees the socket or the writer.
import type { Message } from '../broker/message.js'
import type { Vhost } from '../broker/vhost.js'
import type { User } from '../auth/users.js'
import type { ConnectionAccess } from '../auth/access.js'
import type { Config } from '../config/config.js'
import type { Method } from '../protocol/generated/methods.js'
import type { Logger } from '../util/logger.js'
import type { DrainSource, FlowWaiter } from './output-flow.js'

/** The settings the channel side reads. */
export type ChannelConfig = Readonly<Pick<Config, 'consumerTimeout' | 'maxMessageSize' | 'messageMemoryBudget'>>

/**
 * A connection as its channels see it. It is also the exclusive owner of the queues its channels declare
 * exclusive, a DrainSource a replier can wait on, and the FlowWaiter a replier is (direct reply-to).
 */
export interface ChannelHost extends DrainSource, FlowWaiter {
  /** The user who logged in */
  readonly user: User
  readonly vhost: Vhost
  /** The user's permissions in the vhost: each check throws 403 ACCESS_REFUSED with RabbitMQ's text */
  readonly access: ConnectionAccess
  readonly config: ChannelConfig
  readonly log: Logger
  /** The client handles basic.cancel from the server (capability consumer_cancel_notify) */
  readonly consumerCancelNotify: boolean

  /** Writes one method frame (sent at the end of this turn of the event loop, with the rest). */
  sendMethod(channel: number, method: Method): void
  /** Writes a message's content header and body frames, after its basic.deliver / get-ok / return. */
  sendContent(channel: number, message: Message): void
  /** Writes basic.deliver and the message's content frames (prefix: see ConsumingChannel.deliver). */
  sendDelivery(channel: number, prefix: Buffer, deliveryTag: number, redelivered: boolean, message: Message): void

  /** Too much output is waiting: consumers get nothing more until it drains. */
  readonly backedUp: boolean
  /** Bytes written for this client and not yet taken by the kernel */
  readonly bufferedOutput: number
  /** The output limit above which the connection is backed up */
  readonly outputLimit: number

  /** Flow control: a queue this connection published to is backlogged. */
  throttleFor(queue: DrainSource): void
  /** Flow control: a direct reply from this connection backed up the requester's connection. */
  throttleForReply(requester: DrainSource): void
  /** A channel saw basic.publish (a resource alarm blocks a publishing connection). */
  notePublish(): void
  /** A channel's close handshake is done: its number is free again. */
  channelClosed(id: number): void
}
