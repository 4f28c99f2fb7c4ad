// Direct reply-to (RabbitMQ's amq.rabbitmq.reply-to): a channel consuming from the pseudo-queue gets a
// private reply address; a message published to the default exchange with that address as its routing
// key goes straight to the channel, through no queue. The vhost resolves the address when it routes.
import type { Message } from './message.js'
import { generateName } from './names.js'

/** The pseudo-queue of direct reply-to, and the prefix of the reply addresses made from it. */
export const DIRECT_REPLY_QUEUE = 'amq.rabbitmq.reply-to'
export const DIRECT_REPLY_PREFIX = 'amq.rabbitmq.reply-to.'

/** A channel consuming from amq.rabbitmq.reply-to: replies published to its address go straight to it. */
export interface ReplyTarget {
  /** False when the reply was not delivered (returned if mandatory); the replier's connection may be throttled */
  deliverReply(message: Message, replier: { flowResume(): void }): boolean
}

/** The reply addresses of one vhost and the consumers they lead to. */
export class DirectReplyTo {
  /** Targets by the opaque part of their address */
  private readonly targets = new Map<string, ReplyTarget>()

  /** A new address for the target; replies to it reach the target until it is unregistered. */
  register(target: ReplyTarget): string {
    const id = generateName('')
    this.targets.set(id, target)
    return DIRECT_REPLY_PREFIX + id
  }

  unregister(address: string): void {
    if (address.startsWith(DIRECT_REPLY_PREFIX)) this.targets.delete(address.slice(DIRECT_REPLY_PREFIX.length))
  }

  /** A routing key of the default exchange that is a reply address, whether or not its consumer is still there. */
  static isReplyRoute(routingKey: string): boolean {
    return routingKey.startsWith(DIRECT_REPLY_PREFIX)
  }

  /** The consumer of a reply address; undefined for an address whose consumer has gone (or any other name). */
  targetOf(address: string): ReplyTarget | undefined {
    if (!address.startsWith(DIRECT_REPLY_PREFIX)) return undefined
    return this.targets.get(address.slice(DIRECT_REPLY_PREFIX.length))
  }

  /** The pseudo-queue, or the address of a consumer still there: queue.declare passive answers for both. */
  isAddress(name: string): boolean {
    return name === DIRECT_REPLY_QUEUE || this.targetOf(name) !== undefined
  }

  /** The addresses in use. */
  *addresses(): IterableIterator<string> {
    for (const id of this.targets.keys()) yield DIRECT_REPLY_PREFIX + id
  }
}
