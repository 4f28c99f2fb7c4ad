// RabbitMQ's message counters: what the management API shows as message_stats (queues, exchanges, vhosts,
// the overview) and the Prometheus endpoint as the rabbitmq_global_messages_* counters. They are plain
// integer fields incremented where the message passes (the router, the queue, the server's publisher and
// confirms), so counting costs no allocation and no lookup per message. Totals are summed when they are
// read: a vhost's from its queues, the broker's from its vhosts. A deleted queue's counts are kept by its
// vhost, and a deleted vhost's by the broker, so totals never go down (Prometheus counters must not).
// This file imports nothing: the objects it reads are described by the structural types below.

/** What a queue counts: RabbitMQ's queue message_stats */
export class QueueCounters {
  /** When the counted object was made: the management API's idle_since of one that never saw traffic */
  readonly createdAt = Date.now()
  /** Messages a publish put into the queue (dead letters are not counted, as in RabbitMQ) */
  publish = 0
  /** basic.deliver to consumers that ack */
  deliver = 0
  /** basic.deliver to no-ack consumers */
  deliverNoAck = 0
  /** basic.get-ok in manual acknowledgement mode */
  get = 0
  /** basic.get-ok with no-ack */
  getNoAck = 0
  /** basic.get-empty */
  getEmpty = 0
  /** Deliveries and gets of messages flagged redelivered */
  redeliver = 0
  /** Deliveries acknowledged (basic.ack; a nack or reject is not an ack) */
  ack = 0
  /**
   * Messages written to disk: persistent ones appended to a durable queue's store, and messages (of any
   * kind) written to a page of transient messages (RabbitMQ's disk_writes, which counts paged-out transient
   * messages too). Not in a queue's message_stats: RabbitMQ shows them in the overview's only.
   */
  diskWrites = 0
  /**
   * Messages read back from disk: paged-out persistent ones read from the store, and the messages of a page
   * of transient messages read back (RabbitMQ's disk_reads). Recovery at start is not counted: RabbitMQ's
   * counters start at 0 with its node and count the reads of messages as they are fetched.
   */
  diskReads = 0
  /**
   * Messages that died here (RabbitMQ's rabbitmq_global_messages_dead_lettered_*), by reason: republished
   * to the dead-letter exchange (RabbitMQ's dead_letter_strategy at_most_once), or dropped because the queue
   * has no dead-letter exchange or it does not exist (dead_letter_strategy disabled)
   */
  expiredDeadLettered = 0
  expiredDropped = 0
  rejectedDeadLettered = 0
  rejectedDropped = 0
  maxlenDeadLettered = 0
  maxlenDropped = 0

  /** A basic.deliver */
  countDeliver(noAck: boolean, redelivered: boolean): void {
    if (noAck) this.deliverNoAck++
    else this.deliver++
    if (redelivered) this.redeliver++
  }

  /** A basic.get-ok */
  countGet(noAck: boolean, redelivered: boolean): void {
    if (noAck) this.getNoAck++
    else this.get++
    if (redelivered) this.redeliver++
  }

  /** A message died here: expired (TTL), rejected (basic.reject or nack without requeue), maxlen (length limit) */
  countDeath(reason: 'expired' | 'rejected' | 'maxlen', deadLettered: boolean): void {
    if (reason === 'expired') {
      if (deadLettered) this.expiredDeadLettered++
      else this.expiredDropped++
    } else if (reason === 'rejected') {
      if (deadLettered) this.rejectedDeadLettered++
      else this.rejectedDropped++
    } else if (deadLettered) this.maxlenDeadLettered++
    else this.maxlenDropped++
  }

  /** deliver + deliver_no_ack + get + get_no_ack, RabbitMQ's deliver_get */
  get deliverGet(): number {
    return this.deliver + this.deliverNoAck + this.get + this.getNoAck
  }

  addTo(into: QueueCounters): void {
    into.publish += this.publish
    into.deliver += this.deliver
    into.deliverNoAck += this.deliverNoAck
    into.get += this.get
    into.getNoAck += this.getNoAck
    into.getEmpty += this.getEmpty
    into.redeliver += this.redeliver
    into.ack += this.ack
    into.diskWrites += this.diskWrites
    into.diskReads += this.diskReads
    into.expiredDeadLettered += this.expiredDeadLettered
    into.expiredDropped += this.expiredDropped
    into.rejectedDeadLettered += this.rejectedDeadLettered
    into.rejectedDropped += this.rejectedDropped
    into.maxlenDeadLettered += this.maxlenDeadLettered
    into.maxlenDropped += this.maxlenDropped
  }
}

/** What an exchange counts: RabbitMQ's exchange message_stats */
export class ExchangeCounters {
  /** Messages published to it */
  publishIn = 0
  /** Copies of those routed to queues (a message routed to 3 queues counts 3) */
  publishOut = 0
}

/** What the channels publishing in a vhost count (they are counted by the server, which alone knows) */
export class PublishCounters {
  /** Messages published (basic.publish with its content) */
  received = 0
  /** ... on a channel in confirm mode */
  receivedConfirm = 0
  /** ... that reached at least one queue (or a direct reply-to consumer) */
  routed = 0
  /** ... unroutable and not mandatory: dropped */
  unroutableDropped = 0
  /** ... unroutable and mandatory: basic.return */
  unroutableReturned = 0
  /** Publishes acknowledged to the publisher (basic.ack of a confirm; nacks are not counted) */
  confirmed = 0

  addTo(into: PublishCounters): void {
    into.received += this.received
    into.receivedConfirm += this.receivedConfirm
    into.routed += this.routed
    into.unroutableDropped += this.unroutableDropped
    into.unroutableReturned += this.unroutableReturned
    into.confirmed += this.confirmed
  }
}

/** Queue churn, RabbitMQ's rabbitmq_queues_{declared,created,deleted}_total (counted by the vhost) */
export class QueueChurn {
  /** queue.declare that succeeded, not passive (a redeclare counts again) */
  declared = 0
  /** ... that made a new queue */
  created = 0
  /** Queues deleted, by a client, an auto-delete, an expiry, their connection's end or their vhost's deletion */
  deleted = 0

  addTo(into: QueueChurn): void {
    into.declared += this.declared
    into.created += this.created
    into.deleted += this.deleted
  }
}

/**
 * Connection and channel churn, RabbitMQ's rabbitmq_{connections,channels}_{opened,closed}_total (counted
 * by the server, on the broker's object). A connection counts from connection.open-ok on.
 */
export class ConnectionChurn {
  connectionsOpened = 0
  connectionsClosed = 0
  channelsOpened = 0
  channelsClosed = 0
}

/**
 * Logins of the AMQP 0-9-1 handshake (RabbitMQ's rabbitmq_auth_attempts_*, counted by the server): every
 * response to connection.start with an offered mechanism. A login that succeeds counts even if
 * connection.open is refused later (a vhost the user may not use), as in RabbitMQ.
 */
export class AuthAttempts {
  succeeded = 0
  /** Wrong credentials, a malformed response, no usable certificate (EXTERNAL), a loopback-only user */
  failed = 0

  get total(): number {
    return this.succeeded + this.failed
  }
}

/** Bytes read and written by a vhost's connections that have closed (the open ones are summed when read) */
export class ClosedConnectionTraffic {
  bytesIn = 0
  bytesOut = 0
}

/** The counters of a vhost: its publishing, its queue churn, and what its deleted queues had counted */
export class VhostCounters {
  readonly publishing = new PublishCounters()
  readonly queueChurn = new QueueChurn()
  readonly deletedQueues = new QueueCounters()
  /** What its closed connections read and wrote (RabbitMQ's vhost recv_oct/send_oct keep growing) */
  readonly closedConnections = new ClosedConnectionTraffic()

  /** A queue is deleted: its counts stay in the vhost's totals */
  retireQueue(queue: QueueCounters): void {
    queue.addTo(this.deletedQueues)
  }
}

/** The broker's counters: connection churn, logins, and what its deleted vhosts had counted */
export class BrokerCounters {
  readonly churn = new ConnectionChurn()
  readonly authAttempts = new AuthAttempts()
  readonly deletedVhosts = new MessageTotals()

  /** A vhost is deleted (its queues retired into it first): its counts stay in the broker's totals */
  retireVhost(vhost: CountedVhost): void {
    addVhostTotals(vhost, this.deletedVhosts)
  }
}

/** Every counter summed over a vhost or the broker (publish-side and queue-side) */
export class MessageTotals extends QueueCounters {
  readonly publishing = new PublishCounters()
  readonly queueChurn = new QueueChurn()
}

/** What the totals read of a vhost (vhost.ts's Vhost is one) */
export interface CountedVhost {
  readonly stats: VhostCounters
  readonly queues: ReadonlyMap<string, { readonly stats: QueueCounters }>
}

function addVhostTotals(vhost: CountedVhost, into: MessageTotals): void {
  vhost.stats.publishing.addTo(into.publishing)
  vhost.stats.queueChurn.addTo(into.queueChurn)
  vhost.stats.deletedQueues.addTo(into)
  for (const queue of vhost.queues.values()) queue.stats.addTo(into)
}

/** A vhost's totals, its deleted queues' counts included */
export function vhostTotals(vhost: CountedVhost): MessageTotals {
  const totals = new MessageTotals()
  addVhostTotals(vhost, totals)
  return totals
}

/** The broker's totals: every vhost's, deleted ones included */
export function brokerTotals(broker: BrokerCounters, vhosts: Iterable<CountedVhost>): MessageTotals {
  const totals = new MessageTotals()
  broker.deletedVhosts.publishing.addTo(totals.publishing)
  broker.deletedVhosts.queueChurn.addTo(totals.queueChurn)
  broker.deletedVhosts.addTo(totals)
  for (const vhost of vhosts) addVhostTotals(vhost, totals)
  return totals
}

/** RabbitMQ's message_stats of a queue, as the management API names them */
export function queueMessageStats(q: QueueCounters): Record<string, number> {
  return {
    publish: q.publish,
    deliver_get: q.deliverGet,
    deliver: q.deliver,
    deliver_no_ack: q.deliverNoAck,
    get: q.get,
    get_no_ack: q.getNoAck,
    get_empty: q.getEmpty,
    redeliver: q.redeliver,
    ack: q.ack,
  }
}

/** RabbitMQ's message_stats of a vhost or the overview: `publish` is what the channels published */
export function totalMessageStats(t: MessageTotals): Record<string, number> {
  const p = t.publishing
  return {
    // the queues' own publish count is not the vhost's: the channels' publishes are
    ...queueMessageStats(t),
    publish: p.received,
    confirm: p.confirmed,
    return_unroutable: p.unroutableReturned,
    drop_unroutable: p.unroutableDropped,
  }
}

/** RabbitMQ's message_stats of the overview: a vhost's, and what the queues read from and wrote to disk */
export function overviewMessageStatsOf(t: MessageTotals): Record<string, number> {
  return { ...totalMessageStats(t), disk_reads: t.diskReads, disk_writes: t.diskWrites }
}

/** RabbitMQ's message_stats of an exchange */
export function exchangeMessageStats(x: ExchangeCounters): Record<string, number> {
  return { publish_in: x.publishIn, publish_out: x.publishOut }
}

/**
 * What a channel counts, RabbitMQ's per-channel message_stats: its publishes (and what became of them) and
 * its deliveries, gets and acks. Incremented by the server where the channel already handles each, so it
 * costs an integer increment per message.
 */
export class ChannelCounters extends QueueCounters {
  /** Publishes confirmed to the publisher (basic.ack of confirm mode) */
  confirm = 0
  /** Unroutable mandatory publishes returned */
  returnUnroutable = 0
  /** Unroutable publishes dropped */
  dropUnroutable = 0
}

/** RabbitMQ's message_stats of a channel: the publishing side once it published, the delivering side once it delivered */
export function channelMessageStats(c: ChannelCounters): Record<string, number> | undefined {
  const published = c.publish > 0
  const delivered = c.deliverGet + c.getEmpty + c.ack + c.redeliver > 0
  if (!published && !delivered) return undefined
  const { publish: _publish, ...delivering } = queueMessageStats(c)
  return {
    ...(published
      ? {
          publish: c.publish,
          confirm: c.confirm,
          return_unroutable: c.returnUnroutable,
          drop_unroutable: c.dropUnroutable,
        }
      : {}),
    ...(delivered ? delivering : {}),
  }
}
