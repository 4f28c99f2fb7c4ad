// What a channel's publisher and its consumers may ask of the channel. Publisher and ChannelConsumer see
// their channel through these types only, so neither imports channel.ts and no import circle forms.
import type { LoadedEntry, Message } from '../broker/message.js'
import type { Queue } from '../broker/queue/queue.js'
import type { Vhost } from '../broker/vhost.js'
import type { ChannelCounters } from '../broker/stats.js'
import type { ChannelHost } from './channel-host.js'
import type { ConfirmTarget } from './confirms.js'

/** What a channel tracks of the consumer a delivery went to. */
export interface DeliveryConsumer {
  readonly tag: string
  /** Messages delivered to this consumer and not yet settled */
  unacked: number
}

/** The channel as its Publisher sees it (confirms go out through it as ConfirmTarget). */
export interface PublishingChannel extends ConfirmTarget {
  readonly host: ChannelHost
  readonly vhost: Vhost
  readonly inTx: boolean
  /** The channel's message_stats, counted where each publish is settled */
  readonly stats: ChannelCounters
  /** This channel's direct reply-to address, if it consumes from amq.rabbitmq.reply-to */
  readonly directReplyAddress: string | undefined
  /** basic.return for a mandatory message that reached no queue. */
  returnMessage(message: Message): void
}

/** The channel as a ChannelConsumer sees it. */
export interface ConsumingChannel {
  readonly host: ChannelHost
  /** The channel's message_stats, counted at each delivery */
  readonly stats: ChannelCounters
  /** The channel is open and its connection's output is not backed up */
  readonly deliveriesFlowing: boolean
  /** basic.qos prefetch-count shared by all consumers of the channel (global=true); 0 = none */
  readonly globalPrefetch: number
  /** What the global prefetch limit is measured against */
  readonly limiterVolume: number
  readonly unackedCount: number
  /** Body bytes of the deliveries waiting for an ack */
  readonly unackedBytes: number
  /** Assigns the next delivery tag; remembers the delivery until settled unless `consumer` is false (no-ack). */
  track(entry: LoadedEntry, queue: Queue, consumer: DeliveryConsumer | false): number
  /** basic.deliver (`prefix`: its class and method ids and the consumer tag, encoded) with the message's content. */
  deliver(prefix: Buffer, deliveryTag: number, redelivered: boolean, message: Message): void
  /** The queue went away: the consumer is cancelled (basic.cancel to clients that understand it). */
  consumerCancelledByServer(consumer: DeliveryConsumer): void
}
