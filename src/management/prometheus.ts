// The Prometheus endpoint, as RabbitMQ's rabbitmq_prometheus plugin serves it: `/metrics` with every queue,
// channel and connection metric summed over the broker, `/metrics/per-object` with one sample per queue
// (labels vhost, queue), channel and connection, and `/metrics/detailed?family=...&vhost=...` with only the
// families asked for, named rabbitmq_detailed_*. The names, labels and help texts are RabbitMQ 3.10's where
// Warren has the same thing to count (prometheus-families.ts; compared with a RabbitMQ node by
// test/integration/prometheus-rabbitmq.test.ts); process and Node runtime metrics are prom-client's defaults.
// Nothing is counted here: gauges and counters read the broker's state and counters (broker/stats.ts) when
// Prometheus scrapes, so the endpoint costs nothing between scrapes.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Registry,
  type MetricObjectWithValues,
  type MetricValue,
} from 'prom-client'
import type { Broker } from '../broker/broker.js'
import type { MessageTotals } from '../broker/stats.js'
import { NODE } from './api/format.js'
import { clusterName } from './api/parameters.js'
import {
  GROUPS,
  PER_OBJECT_ONLY_GROUPS,
  SCRAPED_GROUPS,
  SUBJECT_LABELS,
  samples,
  vhostsOf,
  type Family,
  type GroupName,
  type MetricsConnection,
  type Scrape,
} from './prometheus-families.js'

export interface PrometheusServerOptions {
  /** 0 picks a free port (tests); RabbitMQ's default is 15692 */
  port: number
  host?: string
  /** The open AMQP connections, for the per-connection and per-channel families (none without it) */
  connections?: () => Iterable<MetricsConnection>
}

export interface PrometheusServer {
  /** The port it listens on */
  readonly port: number
  close(): Promise<void>
}

/** RabbitMQ's labels for its AMQP 0-9-1 counters; Warren's queues are all classic queues */
const PROTOCOL = { protocol: 'amqp091' } as const
const CLASSIC = { protocol: 'amqp091', queue_type: 'rabbit_classic_queue' } as const

/**
 * RabbitMQ's untyped metrics (alarms, identity): prom-client has gauges, counters, histograms and summaries
 * only, so this is a gauge whose exposition says `untyped`, as RabbitMQ's does.
 */
class Untyped<T extends string> extends Gauge<T> {
  override async get(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    return { ...(await super.get()), type: 'untyped' as unknown as MetricObjectWithValues<MetricValue<T>>['type'] }
  }
}

/**
 * rabbitmq_identity_info's labels. Grafana's RabbitMQ dashboards join every panel on them. Warren is one
 * node; the cluster is named and identified as the management API does: cluster_name (the node's name until
 * an operator sets one) and internal_cluster_id, drawn once per data directory and kept in it, as RabbitMQ's.
 */
function identity(broker: Broker): Record<string, string> {
  const id = broker.tenancy.globalParameters.get('internal_cluster_id')
  return {
    rabbitmq_node: NODE,
    rabbitmq_cluster: clusterName(broker),
    rabbitmq_cluster_permanent_id: typeof id === 'string' ? id : '',
  }
}

/** The global counters: [name, help, labels, value] */
const GLOBAL_COUNTERS: [string, string, Record<string, string>, (t: MessageTotals) => number][] = [
  [
    'rabbitmq_global_messages_received_total',
    'Total number of messages received from publishers',
    PROTOCOL,
    (t) => t.publishing.received,
  ],
  [
    'rabbitmq_global_messages_received_confirm_total',
    'Total number of messages received from publishers expecting confirmations',
    PROTOCOL,
    (t) => t.publishing.receivedConfirm,
  ],
  [
    'rabbitmq_global_messages_routed_total',
    'Total number of messages routed to queues or streams',
    PROTOCOL,
    (t) => t.publishing.routed,
  ],
  [
    'rabbitmq_global_messages_unroutable_dropped_total',
    'Total number of messages published as non-mandatory into an exchange and dropped as unroutable',
    PROTOCOL,
    (t) => t.publishing.unroutableDropped,
  ],
  [
    'rabbitmq_global_messages_unroutable_returned_total',
    'Total number of messages published as mandatory into an exchange and returned to the publisher as unroutable',
    PROTOCOL,
    (t) => t.publishing.unroutableReturned,
  ],
  [
    'rabbitmq_global_messages_confirmed_total',
    'Total number of messages confirmed to publishers',
    PROTOCOL,
    (t) => t.publishing.confirmed,
  ],
  [
    'rabbitmq_global_messages_delivered_total',
    'Total number of messages delivered to consumers',
    CLASSIC,
    (t) => t.deliverGet,
  ],
  [
    'rabbitmq_global_messages_delivered_consume_manual_ack_total',
    'Total number of messages delivered to consumers using basic.consume with manual acknowledgment',
    CLASSIC,
    (t) => t.deliver,
  ],
  [
    'rabbitmq_global_messages_delivered_consume_auto_ack_total',
    'Total number of messages delivered to consumers using basic.consume with automatic acknowledgment',
    CLASSIC,
    (t) => t.deliverNoAck,
  ],
  [
    'rabbitmq_global_messages_delivered_get_manual_ack_total',
    'Total number of messages delivered to consumers using basic.get with manual acknowledgment',
    CLASSIC,
    (t) => t.get,
  ],
  [
    'rabbitmq_global_messages_delivered_get_auto_ack_total',
    'Total number of messages delivered to consumers using basic.get with automatic acknowledgment',
    CLASSIC,
    (t) => t.getNoAck,
  ],
  [
    'rabbitmq_global_messages_get_empty_total',
    'Total number of times basic.get operations fetched no message',
    CLASSIC,
    (t) => t.getEmpty,
  ],
  [
    'rabbitmq_global_messages_redelivered_total',
    'Total number of messages redelivered to consumers',
    CLASSIC,
    (t) => t.redeliver,
  ],
  [
    'rabbitmq_global_messages_acknowledged_total',
    'Total number of messages acknowledged by consumers',
    CLASSIC,
    (t) => t.ack,
  ],
]

const dlx = (queueType: 'classic' | 'quorum', strategy: 'disabled' | 'at_most_once' | 'at_least_once') =>
  ({ queue_type: `rabbit_${queueType}_queue`, dead_letter_strategy: strategy }) as const
const zero = (): number => 0

/**
 * RabbitMQ's dead-letter counters: [name, help, samples]. Warren's queues are classic queues: a message
 * dead-lettered to an existing exchange is at_most_once, one dropped (no dead-letter exchange, or it does
 * not exist) is disabled. The delivery limit and at-least-once dead-lettering are quorum queues' only:
 * Warren has none, so those are 0, with the labels RabbitMQ gives them.
 */
const DEAD_LETTER_COUNTERS: [string, string, [Record<string, string>, (t: MessageTotals) => number][]][] = [
  [
    'rabbitmq_global_messages_dead_lettered_expired_total',
    'Total number of messages dead-lettered due to message TTL exceeded',
    [
      [dlx('classic', 'at_most_once'), (t) => t.expiredDeadLettered],
      [dlx('classic', 'disabled'), (t) => t.expiredDropped],
    ],
  ],
  [
    'rabbitmq_global_messages_dead_lettered_rejected_total',
    'Total number of messages dead-lettered due to basic.reject or basic.nack',
    [
      [dlx('classic', 'at_most_once'), (t) => t.rejectedDeadLettered],
      [dlx('classic', 'disabled'), (t) => t.rejectedDropped],
    ],
  ],
  [
    'rabbitmq_global_messages_dead_lettered_maxlen_total',
    'Total number of messages dead-lettered due to overflow drop-head or reject-publish-dlx',
    [
      [dlx('classic', 'at_most_once'), (t) => t.maxlenDeadLettered],
      [dlx('classic', 'disabled'), (t) => t.maxlenDropped],
    ],
  ],
  [
    'rabbitmq_global_messages_dead_lettered_delivery_limit_total',
    'Total number of messages dead-lettered due to delivery-limit exceeded',
    [
      [dlx('quorum', 'at_least_once'), zero],
      [dlx('quorum', 'at_most_once'), zero],
      [dlx('quorum', 'disabled'), zero],
    ],
  ],
  [
    'rabbitmq_global_messages_dead_lettered_confirmed_total',
    'Total number of messages dead-lettered and confirmed by target queues',
    [[dlx('quorum', 'at_least_once'), zero]],
  ],
]

/** How a registry shows families: summed or per object, with which prefix, for which vhosts */
interface View {
  readonly prefix: 'rabbitmq_' | 'rabbitmq_detailed_'
  readonly perObject: boolean
  readonly vhost?: string
}

/** The broker's own samples (not an object's): the same on every endpoint, never summed */
const BROKER_SUBJECTS: ReadonlySet<Family['subject']> = new Set(['node', 'protocol', 'source'])

/** Registers a family: its collect() reads the scrape and sets one sample per object, or their sum */
function register(registry: Registry, family: Family, view: View, scrape: () => Scrape): void {
  const perObject = view.perObject || BROKER_SUBJECTS.has(family.subject)
  const labelNames = perObject || family.perObjectOnly ? SUBJECT_LABELS[family.subject] : []
  const common = { name: view.prefix + family.name, help: family.help, labelNames, registers: [registry] }
  const each = (set: (labels: Record<string, string>, value: number) => void): void => {
    if (!perObject && family.perObjectOnly) return
    if (!perObject) {
      let total = 0
      for (const [, value] of samples(family, scrape(), view.vhost)) total += value
      set({}, total)
      return
    }
    for (const [values, value] of samples(family, scrape(), view.vhost)) {
      const labels: Record<string, string> = {}
      labelNames.forEach((name, i) => (labels[name] = values[i]!))
      set(labels, value)
    }
  }
  if (family.type === 'gauge') {
    new Gauge({
      ...common,
      collect() {
        this.reset()
        each((labels, value) => this.set(labels, value))
      },
    })
  } else {
    new Counter({
      ...common,
      collect() {
        this.reset()
        each((labels, value) => this.inc(labels, value))
      },
    })
  }
}

/** RabbitMQ's cluster-wide families of /metrics/detailed (vhost_status, exchange_names, exchange_bindings) */
function registerClusterGroup(registry: Registry, group: string, broker: Broker, vhost: string | undefined): void {
  const exchangeGauge = (name: string, help: string, value: (bindings: number) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['vhost', 'exchange', 'type'],
      registers: [registry],
      collect() {
        this.reset()
        for (const v of vhostsOf(broker, vhost)) {
          for (const x of v.exchanges.values()) {
            // the default exchange is not listed
            if (x.name !== '') this.set({ vhost: v.name, exchange: x.name, type: x.type }, value(x.bindings.size))
          }
        }
      },
    })
  }
  if (group === 'vhost_status') {
    new Gauge({
      name: 'rabbitmq_cluster_vhost_status',
      help: 'Whether a given vhost is running',
      labelNames: ['vhost'],
      registers: [registry],
      collect() {
        this.reset()
        for (const v of vhostsOf(broker, vhost)) this.set({ vhost: v.name }, 1)
      },
    })
  } else if (group === 'exchange_names') {
    exchangeGauge(
      'rabbitmq_cluster_exchange_name',
      'Enumerates exchanges without any additional info. This value is cluster-wide. A cheaper alternative to `exchange_bindings`',
      () => 1,
    )
  } else if (group === 'exchange_bindings') {
    exchangeGauge(
      'rabbitmq_cluster_exchange_bindings',
      'Number of bindings for an exchange. This value is cluster-wide.',
      (bindings) => bindings,
    )
  }
}

const CLUSTER_GROUPS = new Set(['vhost_status', 'exchange_names', 'exchange_bindings'])

/** The registries of one server, with the metrics reading `scrape()`'s snapshot */
function makeRegistries(
  broker: Broker,
  connections: () => Iterable<MetricsConnection>,
): {
  aggregated: Registry
  perObject: Registry
  detailed(groups: string[], vhost: string | undefined): Registry
  scrape(): void
} {
  let current: Scrape | undefined
  const snapshot = (): Scrape =>
    (current ??= { broker, totals: broker.messageTotals(), connections: [...connections()] })
  const openCounts = (): { connections: number; channels: number } => {
    let open = 0
    let channels = 0
    for (const c of broker.limits.connections) {
      open++
      channels += c.openChannels
    }
    return { connections: open, channels }
  }
  const queues = function* () {
    for (const vhost of broker.vhosts.values()) yield* vhost.queues.values()
  }
  const gauge = (registry: Registry, name: string, help: string, value: () => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(value())
      },
    })
  }
  const identityInfo = (registry: Registry): void => {
    new Untyped({
      name: 'rabbitmq_identity_info',
      help: 'RabbitMQ node & cluster identity info',
      labelNames: ['rabbitmq_node', 'rabbitmq_cluster', 'rabbitmq_cluster_permanent_id'],
      registers: [registry],
      // at each scrape: an operator may rename the cluster at run time
      collect() {
        this.reset()
        this.set(identity(broker), 1)
      },
    })
  }

  // What both endpoints serve: totals, global counters, identity, the process
  const common = new Registry()
  gauge(common, 'rabbitmq_connections', 'Connections currently open', () => openCounts().connections)
  gauge(common, 'rabbitmq_channels', 'Channels currently open', () => openCounts().channels)
  gauge(common, 'rabbitmq_consumers', 'Consumers currently connected', () => sum(queues(), (q) => q.consumerCount))
  gauge(common, 'rabbitmq_queues', 'Queues available', () => sum(queues(), () => 1))
  identityInfo(common)
  new Gauge({
    name: 'rabbitmq_global_consumers',
    help: 'Current number of consumers',
    labelNames: ['protocol'],
    registers: [common],
    collect() {
      this.set(
        PROTOCOL,
        sum(queues(), (q) => q.consumerCount),
      )
    },
  })
  for (const [name, help, labels, value] of GLOBAL_COUNTERS) {
    new Counter({
      name,
      help,
      labelNames: Object.keys(labels),
      registers: [common],
      collect() {
        this.reset()
        this.inc(labels, value(snapshot().totals))
      },
    })
  }
  for (const [name, help, counted] of DEAD_LETTER_COUNTERS) {
    new Counter({
      name,
      help,
      labelNames: ['queue_type', 'dead_letter_strategy'],
      registers: [common],
      collect() {
        this.reset()
        for (const [labels, value] of counted) this.inc(labels, value(snapshot().totals))
      },
    })
  }
  collectDefaultMetrics({ register: common })

  // /metrics: each queue, channel and connection metric summed, without labels; the alarms
  const aggregatedOnly = new Registry()
  const alarm = (name: string, help: string, resource: 'memory' | 'disk'): void => {
    new Untyped({
      name,
      help,
      registers: [aggregatedOnly],
      collect() {
        this.set(broker.alarms.isSet(resource) ? 1 : 0)
      },
    })
  }
  alarm('rabbitmq_alarms_memory_used_watermark', 'is 1 if VM memory watermark alarm is in effect', 'memory')
  alarm('rabbitmq_alarms_free_disk_space_watermark', 'is 1 if free disk space watermark alarm is in effect', 'disk')
  const summed: View = { prefix: 'rabbitmq_', perObject: false }
  for (const group of SCRAPED_GROUPS) for (const f of GROUPS[group]) register(aggregatedOnly, f, summed, snapshot)
  // Per object, RabbitMQ labels it by channel, queue and exchange; Warren counts it per queue only
  new Counter({
    name: 'rabbitmq_queue_messages_published_total',
    help: 'Total number of messages published to queues',
    registers: [aggregatedOnly],
    collect() {
      this.reset()
      this.inc(snapshot().totals.publish)
    },
  })

  // /metrics/per-object: one sample per queue, channel, connection
  const perObjectOnly = new Registry()
  const each: View = { prefix: 'rabbitmq_', perObject: true }
  for (const group of [...SCRAPED_GROUPS, ...PER_OBJECT_ONLY_GROUPS]) {
    for (const f of GROUPS[group]) register(perObjectOnly, f, each, snapshot)
  }

  // /metrics/detailed: the groups asked for, per object, for one vhost or all; unknown groups are ignored
  const detailed = (groups: string[], vhost: string | undefined): Registry => {
    const registry = new Registry()
    const view: View = { prefix: 'rabbitmq_detailed_', perObject: true, vhost }
    const done = new Set<string>()
    for (const group of groups) {
      if (done.has(group)) continue
      done.add(group)
      if (Object.hasOwn(GROUPS, group)) {
        // queue_consumers is in two groups: served once
        for (const f of GROUPS[group as GroupName]) {
          if (!done.has(f.name)) register(registry, f, view, snapshot)
          done.add(f.name)
        }
      } else if (CLUSTER_GROUPS.has(group)) registerClusterGroup(registry, group, broker, vhost)
    }
    identityInfo(registry)
    return registry
  }

  return {
    aggregated: Registry.merge([common, aggregatedOnly]),
    perObject: Registry.merge([common, perObjectOnly]),
    detailed,
    scrape: () => (current = undefined),
  }
}

function sum<T>(items: Iterable<T>, value: (item: T) => number): number {
  let n = 0
  for (const item of items) n += value(item)
  return n
}

/**
 * Serves the broker's metrics over HTTP until closed. Not started by the broker itself: the composition
 * (start.ts) starts it when a Prometheus port is configured.
 */
export async function startPrometheusServer(
  broker: Broker,
  { port, host, connections = () => [] }: PrometheusServerOptions,
): Promise<PrometheusServer> {
  const { aggregated, perObject, detailed, scrape } = makeRegistries(broker, connections)
  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const path = url.pathname
    const known = path === '/metrics' || path === '/metrics/per-object' || path === '/metrics/detailed'
    if (!known || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(known ? 405 : 404, { 'content-type': 'text/plain' }).end(known ? 'Method Not Allowed' : 'Not Found')
      return
    }
    scrape()
    const registry =
      path === '/metrics'
        ? aggregated
        : path === '/metrics/per-object'
          ? perObject
          : detailed(url.searchParams.getAll('family'), url.searchParams.get('vhost') ?? undefined)
    const body = await registry.metrics()
    res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : body)
  }
  const server = createServer((req, res) => {
    serve(req, res).catch((err: unknown) => {
      broker.log.error({ err }, 'prometheus scrape failed')
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
      res.end('Internal Server Error')
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()))
        server.closeAllConnections()
      }),
  }
}
