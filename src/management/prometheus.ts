// The Prometheus endpoint, as RabbitMQ's rabbitmq_prometheus plugin serves it: `/metrics` with every queue
// metric summed over the broker, `/metrics/per-object` with one sample per queue (labels vhost, queue). The
// names, labels and help texts are RabbitMQ 3.10's where Warren has the same thing to count (checked against
// a RabbitMQ node with the plugin enabled); process and Node runtime metrics are prom-client's defaults.
// Nothing is counted here: gauges and counters read the broker's state and counters (broker/stats.ts) when
// Prometheus scrapes, so the endpoint costs nothing between scrapes.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import type { Broker } from '../broker/broker.js'
import type { MessageTotals } from '../broker/stats.js'

export interface PrometheusServerOptions {
  /** 0 picks a free port (tests); RabbitMQ's default is 15692 */
  port: number
  host?: string
}

export interface PrometheusServer {
  /** The port it listens on */
  readonly port: number
  close(): Promise<void>
}

/** RabbitMQ's labels for its AMQP 0-9-1 counters; Warren's queues are all classic queues */
const PROTOCOL = { protocol: 'amqp091' } as const
const CLASSIC = { protocol: 'amqp091', queue_type: 'rabbit_classic_queue' } as const

/** What one scrape reads of the broker, once, whichever metrics read it */
interface Scrape {
  totals: MessageTotals
  connections: number
  channels: number
}

/** The queue depth metrics: [name, help, value of one queue] */
const QUEUE_GAUGES: [string, string, (q: QueueView) => number][] = [
  ['rabbitmq_queue_messages_ready', 'Messages ready to be delivered to consumers', (q) => q.messageCount],
  [
    'rabbitmq_queue_messages_unacked',
    'Messages delivered to consumers but not yet acknowledged',
    (q) => q.unackedCount,
  ],
  [
    'rabbitmq_queue_messages',
    'Sum of ready and unacknowledged messages - total queue depth',
    (q) => q.messageCount + q.unackedCount,
  ],
  ['rabbitmq_queue_consumers', 'Consumers on a queue', (q) => q.consumerCount],
  ['rabbitmq_queue_messages_paged_out', 'Messages paged out to disk', (q) => q.pagedOut],
]

interface QueueView {
  readonly name: string
  readonly vhost: string
  readonly messageCount: number
  readonly unackedCount: number
  readonly consumerCount: number
  readonly pagedOut: number
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

/** The two registries of one server, with the metrics reading `scrape()`'s snapshot */
function makeRegistries(broker: Broker): { aggregated: Registry; perObject: Registry; scrape(): void } {
  let current: Scrape | undefined
  const snapshot = (): Scrape => {
    if (current) return current
    let connections = 0
    let channels = 0
    for (const c of broker.limits.connections) {
      connections++
      channels += c.openChannels
    }
    return (current = { totals: broker.messageTotals(), connections, channels })
  }
  const queues = function* (): IterableIterator<QueueView> {
    for (const vhost of broker.vhosts.values()) yield* vhost.queues.values()
  }

  // What both endpoints serve: totals, global counters, the process
  const common = new Registry()
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
  gauge(common, 'rabbitmq_connections', 'Connections currently open', () => snapshot().connections)
  gauge(common, 'rabbitmq_channels', 'Channels currently open', () => snapshot().channels)
  gauge(common, 'rabbitmq_consumers', 'Consumers currently connected', () => sum(queues(), (q) => q.consumerCount))
  gauge(common, 'rabbitmq_queues', 'Queues available', () => sum(queues(), () => 1))
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
  collectDefaultMetrics({ register: common })

  // /metrics: each queue metric summed over every queue, without labels; the alarms
  const aggregatedOnly = new Registry()
  // RabbitMQ's are untyped; prom-client has no untyped metric (PromQL reads both alike)
  gauge(
    aggregatedOnly,
    'rabbitmq_alarms_memory_used_watermark',
    'is 1 if VM memory watermark alarm is in effect',
    () => (broker.alarms.isSet('memory') ? 1 : 0),
  )
  gauge(
    aggregatedOnly,
    'rabbitmq_alarms_free_disk_space_watermark',
    'is 1 if free disk space watermark alarm is in effect',
    () => (broker.alarms.isSet('disk') ? 1 : 0),
  )
  for (const [name, help, value] of QUEUE_GAUGES) gauge(aggregatedOnly, name, help, () => sum(queues(), value))
  new Counter({
    name: 'rabbitmq_queue_messages_published_total',
    help: 'Total number of messages published to queues',
    registers: [aggregatedOnly],
    collect() {
      this.reset()
      this.inc(snapshot().totals.publish)
    },
  })

  // /metrics/per-object: one sample per queue
  const perObjectOnly = new Registry()
  for (const [name, help, value] of QUEUE_GAUGES) {
    new Gauge({
      name,
      help,
      labelNames: ['vhost', 'queue'],
      registers: [perObjectOnly],
      collect() {
        this.reset()
        for (const q of queues()) this.set({ vhost: q.vhost, queue: q.name }, value(q))
      },
    })
  }

  return {
    aggregated: Registry.merge([common, aggregatedOnly]),
    perObject: Registry.merge([common, perObjectOnly]),
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
  { port, host }: PrometheusServerOptions,
): Promise<PrometheusServer> {
  const { aggregated, perObject, scrape } = makeRegistries(broker)
  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]
    const registry = path === '/metrics' ? aggregated : path === '/metrics/per-object' ? perObject : undefined
    if (!registry || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res
        .writeHead(registry ? 405 : 404, { 'content-type': 'text/plain' })
        .end(registry ? 'Method Not Allowed' : 'Not Found')
      return
    }
    scrape()
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
