// The exchange and queue methods of a channel: each is checked and applied by the vhost, then answered
// (unless no-wait). They use nothing of the channel's delivery or publishing state, only the spec's
// empty-name shortcut (the last queue declared on the channel) and the connection as exclusive owner.
// Permissions are checked where RabbitMQ's rabbit_channel checks them: configure to declare (not passive)
// or delete, write on a binding's destination and read on its source (and the binding key against a topic
// exchange's read pattern), read to purge. A check comes after the checks RabbitMQ makes before it (the
// default exchange, a system exchange's deletion, a queue name's amq. prefix), so the first refusal is its.
import { EXCHANGE_TYPES } from '../broker/exchange/index.js'
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

/**
 * A binding's checks, in rabbit_channel's binding_action order: write on the destination, then (after the
 * default exchange's refusal, which the vhost makes) read on the source and, on a topic exchange that
 * exists, read of the binding key.
 */
function checkBinding(ch: EntityChannel, destination: 'queue' | 'exchange', name: string, source: string, key: string) {
  const access = ch.host.access
  access.check('write', destination, name)
  if (source === '' || (destination === 'exchange' && name === '')) return
  access.check('read', 'exchange', source)
  const exchange = ch.vhost.exchanges.get(source)
  if (exchange) access.checkTopic('read', exchange.type, source, key)
}

export function entityMethod(ch: EntityChannel, m: Extract<Method, { name: EntityMethodName }>): void {
  const vhost = ch.vhost
  const owner = ch.host
  const access = owner.access
  switch (m.name) {
    case 'exchange.declare':
      // RabbitMQ refuses an unknown type (503) and the default exchange before checking the permission
      if (!m.passive && m.exchange !== '' && EXCHANGE_TYPES.has(m.type)) {
        access.check('configure', 'exchange', m.exchange)
        // A new exchange with an alternate exchange: read on it and write on the alternate (rabbit_channel)
        const alternate = m.arguments['alternate-exchange']
        if (typeof alternate === 'string' && !vhost.exchanges.has(m.exchange) && !m.exchange.startsWith('amq.')) {
          access.check('read', 'exchange', m.exchange)
          access.check('write', 'exchange', alternate)
        }
      }
      vhost.declareExchange(
        m.exchange,
        m.type,
        { durable: m.durable, autoDelete: m.autoDelete, internal: m.internal, arguments: m.arguments },
        m.passive,
        ch.host.user.name,
      )
      if (!m.noWait) ch.send({ name: 'exchange.declare-ok' })
      return
    case 'exchange.delete':
      // the default exchange and system exchanges (amq.*) are refused before any permission is checked
      if (m.exchange !== '' && !m.exchange.startsWith('amq.')) access.check('configure', 'exchange', m.exchange)
      vhost.deleteExchange(m.exchange, m.ifUnused)
      if (!m.noWait) ch.send({ name: 'exchange.delete-ok' })
      return
    case 'exchange.bind':
      checkBinding(ch, 'exchange', m.destination, m.source, m.routingKey)
      vhost.bindExchange(m.destination, m.source, m.routingKey, m.arguments)
      if (!m.noWait) ch.send({ name: 'exchange.bind-ok' })
      return
    case 'exchange.unbind':
      checkBinding(ch, 'exchange', m.destination, m.source, m.routingKey)
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
        // after the name is chosen (a server-named queue's too) and its amq. prefix refused
        (name) => {
          access.check('configure', 'queue', name)
          // A new queue that dead-letters: read on it and write on its dead-letter exchange (rabbit_channel)
          const deadLetterExchange = m.arguments['x-dead-letter-exchange']
          if (typeof deadLetterExchange === 'string' && !vhost.queues.has(name)) {
            access.check('read', 'queue', name)
            access.check('write', 'exchange', deadLetterExchange)
          }
        },
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
      const routingKey = ch.routingKeyFor(m.queue, m.routingKey)
      checkBinding(ch, 'queue', queue, m.exchange, routingKey)
      vhost.bindQueue(queue, m.exchange, routingKey, m.arguments, owner)
      if (!m.noWait) ch.send({ name: 'queue.bind-ok' })
      return
    }
    case 'queue.unbind': {
      const queue = ch.queueName(m.queue)
      const routingKey = ch.routingKeyFor(m.queue, m.routingKey)
      checkBinding(ch, 'queue', queue, m.exchange, routingKey)
      vhost.unbindQueue(queue, m.exchange, routingKey, m.arguments, owner)
      return ch.send({ name: 'queue.unbind-ok' })
    }
    case 'queue.purge': {
      const queue = ch.queueName(m.queue)
      access.check('read', 'queue', queue)
      const messageCount = vhost.purgeQueue(queue, owner)
      if (!m.noWait) ch.send({ name: 'queue.purge-ok', messageCount })
      return
    }
    case 'queue.delete': {
      const queue = ch.queueName(m.queue)
      access.check('configure', 'queue', queue)
      const messageCount = vhost.deleteQueue(queue, m.ifUnused, m.ifEmpty, owner)
      if (!m.noWait) ch.send({ name: 'queue.delete-ok', messageCount })
      return
    }
  }
}
