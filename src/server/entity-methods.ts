// The exchange and queue methods of a channel: each is checked and applied by the vhost, then answered
// (unless no-wait). They use nothing of the channel's delivery or publishing state, only the spec's
// empty-name shortcut (the last queue declared on the channel) and the connection as exclusive owner.
import type { Vhost } from '../broker/vhost.js'
import type { Method } from '../protocol/generated/methods.js'
import type { ChannelHost } from './channel-host.js'

type EntityMethodName =
  | 'exchange.declare'
  | 'exchange.delete'
  | 'exchange.bind'
  | 'exchange.unbind'
  | 'queue.declare'
  | 'queue.bind'
  | 'queue.unbind'
  | 'queue.purge'
  | 'queue.delete'

/** What the exchange and queue methods need of their channel. */
export interface EntityChannel {
  readonly vhost: Vhost
  /** The connection: the exclusive owner of the queues it declares exclusive */
  readonly host: ChannelHost
  /** The last queue declared here, for the empty-name shortcut of bind, consume, purge... */
  lastQueue: string
  send(method: Method): void
  /** The spec's shortcut: an empty queue name means the last queue declared on this channel. */
  queueName(name: string): string
  /** With the empty-name shortcut, an empty routing key means the queue's name too. */
  routingKeyFor(queueField: string, routingKey: string): string
}

export function entityMethod(ch: EntityChannel, m: Extract<Method, { name: EntityMethodName }>): void {
  const vhost = ch.vhost
  const owner = ch.host
  switch (m.name) {
    case 'exchange.declare':
      vhost.declareExchange(
        m.exchange,
        m.type,
        { durable: m.durable, autoDelete: m.autoDelete, internal: m.internal, arguments: m.arguments },
        m.passive,
      )
      if (!m.noWait) ch.send({ name: 'exchange.declare-ok' })
      return
    case 'exchange.delete':
      vhost.deleteExchange(m.exchange, m.ifUnused)
      if (!m.noWait) ch.send({ name: 'exchange.delete-ok' })
      return
    case 'exchange.bind':
      vhost.bindExchange(m.destination, m.source, m.routingKey, m.arguments)
      if (!m.noWait) ch.send({ name: 'exchange.bind-ok' })
      return
    case 'exchange.unbind':
      vhost.unbindExchange(m.destination, m.source, m.routingKey, m.arguments)
      if (!m.noWait) ch.send({ name: 'exchange.unbind-ok' })
      return

    case 'queue.declare': {
      if (m.passive && ch.vhost.directReplyTo.isAddress(m.queue)) {
        // RabbitMQ answers for the direct reply-to pseudo-queue as if it had one consumer
        if (!m.noWait) ch.send({ name: 'queue.declare-ok', queue: m.queue, messageCount: 0, consumerCount: 1 })
        return
      }
      const r = vhost.declareQueue(
        m.queue,
        // an exclusive queue is never durable, whatever the client asks (as in RabbitMQ's rabbit_channel)
        {
          durable: m.durable && !m.exclusive,
          exclusive: m.exclusive,
          autoDelete: m.autoDelete,
          arguments: m.arguments,
        },
        m.passive,
        owner,
      )
      ch.lastQueue = r.queue.name
      if (!m.noWait) {
        ch.send({
          name: 'queue.declare-ok',
          queue: r.queue.name,
          messageCount: r.messageCount,
          consumerCount: r.consumerCount,
        })
      }
      return
    }
    case 'queue.bind': {
      const queue = ch.queueName(m.queue)
      vhost.bindQueue(queue, m.exchange, ch.routingKeyFor(m.queue, m.routingKey), m.arguments, owner)
      if (!m.noWait) ch.send({ name: 'queue.bind-ok' })
      return
    }
    case 'queue.unbind': {
      const queue = ch.queueName(m.queue)
      vhost.unbindQueue(queue, m.exchange, ch.routingKeyFor(m.queue, m.routingKey), m.arguments, owner)
      return ch.send({ name: 'queue.unbind-ok' })
    }
    case 'queue.purge': {
      const messageCount = vhost.purgeQueue(ch.queueName(m.queue), owner)
      if (!m.noWait) ch.send({ name: 'queue.purge-ok', messageCount })
      return
    }
    case 'queue.delete': {
      const messageCount = vhost.deleteQueue(ch.queueName(m.queue), m.ifUnused, m.ifEmpty, owner)
      if (!m.noWait) ch.send({ name: 'queue.delete-ok', messageCount })
      return
    }
  }
}
