// The metric families of rabbitmq_prometheus (RabbitMQ 3.10) that Warren serves, grouped as RabbitMQ groups
// them for /metrics/detailed (its `family=` names: queue_coarse_metrics, channel_metrics...). Each family has
// RabbitMQ's name (without the rabbitmq_ or rabbitmq_detailed_ prefix), type and help text, and says what
// it reads of one object: a queue, a channel, a connection, or the broker as a whole. Checked against a
// RabbitMQ 3.10.8 node by test/integration/prometheus-rabbitmq.test.ts.
import type { Broker } from '../broker/broker.js'
import type { Queue } from '../broker/queue/queue.js'
import type { Vhost } from '../broker/vhost.js'
import type { AuthAttempts, MessageTotals } from '../broker/stats.js'

/** What the metrics read of a channel (server/channel.ts's Channel is one) */
export interface MetricsChannel {
  readonly id: number
  readonly unackedCount: number
  readonly prefetchCount: number
  readonly globalPrefetch: number
  readonly uncommittedAcks: number
  readonly consumerList: Iterable<unknown>
  readonly publisher: { readonly unconfirmed: number; readonly uncommitted: number }
}

/** What the metrics read of a connection (server/connection.ts's Connection is one) */
export interface MetricsConnection {
  readonly name: string
  readonly openChannels: number
  readonly bytesIn: number
  readonly bytesOut: number
  readonly packetsIn: number
  readonly packetsOut: number
  readonly channelList: Iterable<MetricsChannel>
}

/** One scrape's view of the broker, read once whichever metrics read it */
export interface Scrape {
  readonly broker: Broker
  readonly totals: MessageTotals
  readonly connections: readonly MetricsConnection[]
}

/**
 * What a family's samples are about, and the labels RabbitMQ gives them. `protocol` and `source` are the
 * broker's logins, by protocol (Warren's only is AMQP 0-9-1) and by source (client address and user name)
 */
export type Subject = 'node' | 'protocol' | 'source' | 'queue' | 'channel' | 'connection'

export const SUBJECT_LABELS: Record<Subject, readonly string[]> = {
  node: [],
  protocol: ['protocol'],
  source: ['remote_address', 'username', 'protocol'],
  queue: ['vhost', 'queue'],
  channel: ['channel'],
  // sic: RabbitMQ 3.10 labels its per-connection samples `channel`
  connection: ['channel'],
}

interface FamilyOf<S extends Subject, T> {
  readonly name: string
  readonly type: 'gauge' | 'counter'
  readonly help: string
  readonly subject: S
  readonly value: (object: T, scrape: Scrape) => number
  /** Served per object only: RabbitMQ's /metrics has the family without samples (a sum means nothing) */
  readonly perObjectOnly?: true
}

export type Family =
  | FamilyOf<'node', undefined>
  | FamilyOf<'protocol', undefined>
  | FamilyOf<'source', never>
  | FamilyOf<'queue', Queue>
  | FamilyOf<'channel', [MetricsConnection, MetricsChannel]>
  | FamilyOf<'connection', MetricsConnection>

const node = (name: string, help: string, value: (s: Scrape) => number): Family => ({
  name,
  type: 'counter',
  help,
  subject: 'node',
  value: (_: undefined, s: Scrape) => value(s),
})
const queue = (
  name: string,
  type: 'gauge' | 'counter',
  help: string,
  value: (q: Queue) => number,
  perObjectOnly?: true,
): Family => ({ name, type, help, subject: 'queue', value, ...(perObjectOnly && { perObjectOnly }) })
const channel = (name: string, help: string, value: (ch: MetricsChannel) => number): Family => ({
  name,
  type: 'gauge',
  help,
  subject: 'channel',
  value: ([, ch]: [MetricsConnection, MetricsChannel]) => value(ch),
})
const connection = (
  name: string,
  type: 'gauge' | 'counter',
  help: string,
  value: (c: MetricsConnection) => number,
): Family => ({ name, type, help, subject: 'connection', value })

const logins = (name: string, help: string, value: (a: AuthAttempts) => number): Family => ({
  name,
  type: 'counter',
  help,
  subject: 'protocol',
  value: (_: undefined, s: Scrape) => value(s.broker.stats.authAttempts),
})
// RabbitMQ keeps these per source only when its track_auth_attempt_source is set (advanced.config only,
// off by default: the series grow with every address and user name); Warren does not: no samples
const bySource = (name: string, help: string): Family => ({
  name,
  type: 'counter',
  help,
  subject: 'source',
  value: () => 0,
})

const count = (items: Iterable<unknown>): number => {
  let n = 0
  for (const _ of items) n++
  return n
}

/** RabbitMQ's families for /metrics/detailed?family=..., in its order; the same families make /metrics */
export const GROUPS = {
  connection_churn_metrics: [
    node(
      'connections_opened_total',
      'Total number of connections opened',
      (s) => s.broker.stats.churn.connectionsOpened,
    ),
    node(
      'connections_closed_total',
      'Total number of connections closed or terminated',
      (s) => s.broker.stats.churn.connectionsClosed,
    ),
    node('channels_opened_total', 'Total number of channels opened', (s) => s.broker.stats.churn.channelsOpened),
    node('channels_closed_total', 'Total number of channels closed', (s) => s.broker.stats.churn.channelsClosed),
    node('queues_declared_total', 'Total number of queues declared', (s) => s.totals.queueChurn.declared),
    node('queues_created_total', 'Total number of queues created', (s) => s.totals.queueChurn.created),
    node('queues_deleted_total', 'Total number of queues deleted', (s) => s.totals.queueChurn.deleted),
  ],
  // sic: RabbitMQ 3.10 says authorization in some of these help texts, authentication in others
  auth_attempt_metrics: [
    logins('auth_attempts_total', 'Total number of authorization attempts', (a) => a.total),
    logins('auth_attempts_succeeded_total', 'Total number of successful authentication attempts', (a) => a.succeeded),
    logins('auth_attempts_failed_total', 'Total number of failed authentication attempts', (a) => a.failed),
  ],
  auth_attempt_detailed_metrics: [
    bySource('auth_attempts_detailed_total', 'Total number of authorization attempts with source info'),
    bySource(
      'auth_attempts_detailed_succeeded_total',
      'Total number of successful authorization attempts with source info',
    ),
    bySource('auth_attempts_detailed_failed_total', 'Total number of failed authorization attempts with source info'),
  ],
  queue_coarse_metrics: [
    queue('queue_messages_ready', 'gauge', 'Messages ready to be delivered to consumers', (q) => q.messageCount),
    queue(
      'queue_messages_unacked',
      'gauge',
      'Messages delivered to consumers but not yet acknowledged',
      (q) => q.unackedCount,
    ),
    queue(
      'queue_messages',
      'gauge',
      'Sum of ready and unacknowledged messages - total queue depth',
      (q) => q.messageCount + q.unackedCount,
    ),
  ],
  queue_metrics: [
    queue('queue_consumers', 'gauge', 'Consumers on a queue', (q) => q.consumerCount),
    // Unacked deliveries keep their bodies in memory; only ready messages are paged out
    queue(
      'queue_messages_ram',
      'gauge',
      'Ready and unacknowledged messages stored in memory',
      (q) => q.messageCount - q.pagedOut + q.unackedCount,
    ),
    queue(
      'queue_messages_ram_bytes',
      'gauge',
      'Size of ready and unacknowledged messages stored in memory',
      (q) => q.messageBytes - q.pagedOutBytes + q.unackedBytes,
    ),
    queue('queue_messages_ready_ram', 'gauge', 'Ready messages stored in memory', (q) => q.messageCount - q.pagedOut),
    queue('queue_messages_unacked_ram', 'gauge', 'Unacknowledged messages stored in memory', (q) => q.unackedCount),
    queue(
      'queue_messages_bytes',
      'gauge',
      'Size in bytes of ready and unacknowledged messages',
      (q) => q.messageBytes + q.unackedBytes,
    ),
    queue('queue_messages_ready_bytes', 'gauge', 'Size in bytes of ready messages', (q) => q.messageBytes),
    queue(
      'queue_messages_unacked_bytes',
      'gauge',
      'Size in bytes of all unacknowledged messages',
      (q) => q.unackedBytes,
    ),
    // Persistent: in the queue's store (a durable queue's persistent messages), ready or unacked
    queue('queue_messages_persistent', 'gauge', 'Persistent messages', (q) => q.store?.messageCount ?? 0),
    queue(
      'queue_messages_persistent_bytes',
      'gauge',
      'Size in bytes of persistent messages',
      (q) => (q.store ? q.persistentBytes : 0),
      true,
    ),
    queue('queue_messages_paged_out', 'gauge', 'Messages paged out to disk', (q) => q.pagedOut),
    queue(
      'queue_messages_paged_out_bytes',
      'gauge',
      'Size in bytes of messages paged out to disk',
      (q) => q.pagedOutBytes,
    ),
    queue(
      'queue_head_message_timestamp',
      'gauge',
      'Timestamp of the first message in the queue, if any',
      (q) => q.headTimestamp ?? NaN,
      true,
    ),
    queue(
      'queue_disk_reads_total',
      'counter',
      'Total number of times queue read messages from disk',
      (q) => q.stats.diskReads,
    ),
    queue(
      'queue_disk_writes_total',
      'counter',
      'Total number of times queue wrote messages to disk',
      (q) => q.stats.diskWrites,
    ),
  ],
  queue_consumer_count: [queue('queue_consumers', 'gauge', 'Consumers on a queue', (q) => q.consumerCount)],
  channel_metrics: [
    channel('channel_consumers', 'Consumers on a channel', (ch) => count(ch.consumerList)),
    channel('channel_messages_unacked', 'Delivered but not yet acknowledged messages', (ch) => ch.unackedCount),
    channel(
      'channel_messages_unconfirmed',
      'Published but not yet confirmed messages',
      (ch) => ch.publisher.unconfirmed,
    ),
    channel(
      'channel_messages_uncommitted',
      'Messages received in a transaction but not yet committed',
      (ch) => ch.publisher.uncommitted,
    ),
    channel(
      'channel_acks_uncommitted',
      'Message acknowledgements in a transaction not yet committed',
      (ch) => ch.uncommittedAcks,
    ),
    channel('consumer_prefetch', 'Limit of unacknowledged messages for each consumer', (ch) => ch.prefetchCount),
    channel(
      'channel_prefetch',
      'Total limit of unacknowledged messages for all consumers on a channel',
      (ch) => ch.globalPrefetch,
    ),
  ],
  connection_coarse_metrics: [
    connection(
      'connection_incoming_bytes_total',
      'counter',
      'Total number of bytes received on a connection',
      (c) => c.bytesIn,
    ),
    connection(
      'connection_outgoing_bytes_total',
      'counter',
      'Total number of bytes sent on a connection',
      (c) => c.bytesOut,
    ),
  ],
  connection_metrics: [
    connection(
      'connection_incoming_packets_total',
      'counter',
      'Total number of packets received on a connection',
      (c) => c.packetsIn,
    ),
    connection(
      'connection_outgoing_packets_total',
      'counter',
      'Total number of packets sent on a connection',
      (c) => c.packetsOut,
    ),
    connection('connection_channels', 'gauge', 'Channels on a connection', (c) => c.openChannels),
  ],
} satisfies Record<string, Family[]>

export type GroupName = keyof typeof GROUPS

/** The groups /metrics and /metrics/per-object serve (queue_consumer_count repeats queue_metrics' family) */
export const SCRAPED_GROUPS: readonly GroupName[] = [
  'connection_churn_metrics',
  'auth_attempt_metrics',
  'queue_coarse_metrics',
  'queue_metrics',
  'channel_metrics',
  'connection_coarse_metrics',
  'connection_metrics',
]

/** Served by /metrics/per-object but not /metrics: logins by source would sum to auth_attempt_metrics */
export const PER_OBJECT_ONLY_GROUPS: readonly GroupName[] = ['auth_attempt_detailed_metrics']

/** The samples of a family: label values and value, per object (or one for the node) */
export function* samples(family: Family, scrape: Scrape, vhost?: string): Generator<[string[], number]> {
  switch (family.subject) {
    case 'node':
      yield [[], family.value(undefined, scrape)]
      return
    case 'protocol':
      // as RabbitMQ's: no sample before the first login
      if (scrape.broker.stats.authAttempts.total > 0) yield [['amqp091'], family.value(undefined, scrape)]
      return
    case 'source':
      return
    case 'queue':
      for (const v of vhostsOf(scrape.broker, vhost)) {
        for (const q of v.queues.values()) yield [[q.vhost, q.name], family.value(q, scrape)]
      }
      return
    case 'channel':
      for (const c of scrape.connections) {
        // the management API's channel name
        for (const ch of c.channelList) yield [[`${c.name} (${ch.id})`], family.value([c, ch], scrape)]
      }
      return
    case 'connection':
      for (const c of scrape.connections) yield [[c.name], family.value(c, scrape)]
  }
}

export function vhostsOf(broker: Broker, vhost: string | undefined): Iterable<Vhost> {
  if (vhost === undefined) return broker.vhosts.values()
  const one = broker.vhosts.get(vhost)
  return one ? [one] : []
}
