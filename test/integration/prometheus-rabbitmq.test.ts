// Warren's Prometheus endpoint judged by RabbitMQ 3.10's rabbitmq_prometheus: both brokers run the same
// amqplib session, both expositions are read by the same strict text-format parser, and every family Warren
// claims (CLAIMED below) must be in RabbitMQ's with the same type, help text and label names, on /metrics,
// /metrics/per-object and /metrics/detailed. The values that follow from the session alone (queue depths and
// bytes, unacked deliveries, prefetch, churn) must be the same on both.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import amqp from 'amqplib'
import { startBroker, type WarrenBroker } from '../../src/index.js'
import { startRabbitMq, type RabbitMq } from '../differential/rabbitmq.js'
import { eventually } from '../helpers/amqplib.js'
import { get, parseExposition, samplesWith, scrape, type Family } from '../helpers/prometheus-text.js'

const T = { timeout: 120_000 }

/** The families Warren serves on /metrics (and, those marked, per object), as RabbitMQ names them */
const CLAIMED_AGGREGATED = [
  'rabbitmq_connections',
  'rabbitmq_channels',
  'rabbitmq_consumers',
  'rabbitmq_queues',
  'rabbitmq_identity_info',
  'rabbitmq_alarms_memory_used_watermark',
  'rabbitmq_alarms_free_disk_space_watermark',
  'rabbitmq_global_consumers',
  'rabbitmq_global_messages_received_total',
  'rabbitmq_global_messages_received_confirm_total',
  'rabbitmq_global_messages_routed_total',
  'rabbitmq_global_messages_unroutable_dropped_total',
  'rabbitmq_global_messages_unroutable_returned_total',
  'rabbitmq_global_messages_confirmed_total',
  'rabbitmq_global_messages_delivered_total',
  'rabbitmq_global_messages_delivered_consume_manual_ack_total',
  'rabbitmq_global_messages_delivered_consume_auto_ack_total',
  'rabbitmq_global_messages_delivered_get_manual_ack_total',
  'rabbitmq_global_messages_delivered_get_auto_ack_total',
  'rabbitmq_global_messages_get_empty_total',
  'rabbitmq_global_messages_redelivered_total',
  'rabbitmq_global_messages_acknowledged_total',
  'rabbitmq_global_messages_dead_lettered_expired_total',
  'rabbitmq_global_messages_dead_lettered_rejected_total',
  'rabbitmq_global_messages_dead_lettered_maxlen_total',
  'rabbitmq_global_messages_dead_lettered_delivery_limit_total',
  'rabbitmq_global_messages_dead_lettered_confirmed_total',
  'rabbitmq_queue_messages_published_total',
]

/** RabbitMQ's detailed groups Warren serves, and their families (also on /metrics and per object) */
const CLAIMED_GROUPS: Record<string, string[]> = {
  connection_churn_metrics: [
    'connections_opened_total',
    'connections_closed_total',
    'channels_opened_total',
    'channels_closed_total',
    'queues_declared_total',
    'queues_created_total',
    'queues_deleted_total',
  ],
  auth_attempt_metrics: ['auth_attempts_total', 'auth_attempts_succeeded_total', 'auth_attempts_failed_total'],
  auth_attempt_detailed_metrics: [
    'auth_attempts_detailed_total',
    'auth_attempts_detailed_succeeded_total',
    'auth_attempts_detailed_failed_total',
  ],
  queue_coarse_metrics: ['queue_messages_ready', 'queue_messages_unacked', 'queue_messages'],
  queue_metrics: [
    'queue_consumers',
    'queue_messages_ram',
    'queue_messages_ram_bytes',
    'queue_messages_ready_ram',
    'queue_messages_unacked_ram',
    'queue_messages_bytes',
    'queue_messages_ready_bytes',
    'queue_messages_unacked_bytes',
    'queue_messages_paged_out',
    'queue_messages_paged_out_bytes',
    'queue_messages_persistent',
    'queue_messages_persistent_bytes',
    'queue_disk_reads_total',
    'queue_disk_writes_total',
    'queue_head_message_timestamp',
  ],
  queue_consumer_count: ['queue_consumers'],
  channel_metrics: [
    'channel_consumers',
    'channel_messages_unacked',
    'channel_messages_unconfirmed',
    'channel_messages_uncommitted',
    'channel_acks_uncommitted',
    'consumer_prefetch',
    'channel_prefetch',
  ],
  connection_coarse_metrics: ['connection_incoming_bytes_total', 'connection_outgoing_bytes_total'],
  connection_metrics: ['connection_incoming_packets_total', 'connection_outgoing_packets_total', 'connection_channels'],
}

/** Served without the rabbitmq_detailed_ prefix, as RabbitMQ does */
const CLUSTER_GROUPS: Record<string, string> = {
  vhost_status: 'rabbitmq_cluster_vhost_status',
  exchange_names: 'rabbitmq_cluster_exchange_name',
  exchange_bindings: 'rabbitmq_cluster_exchange_bindings',
}

/**
 * RabbitMQ's families that Warren does not serve, and why. Families of the Erlang VM (erlang_*,
 * rabbitmq_erlang_*, telemetry_*) are not listed: Node's, from prom-client, stand for them.
 */
const NOT_SERVED: Record<string, string> = {
  rabbitmq_build_info: 'its labels are Erlang/OTP and plugin versions; Warren is neither',
  rabbitmq_global_publishers: 'Warren does not track which channels have published',
  'rabbitmq_channel_messages_{published,confirmed,unroutable_*}_total':
    'per channel and exchange: would need a per-exchange lookup on the publish path',
  'rabbitmq_channel_{get,get_ack,get_empty,messages_delivered,messages_delivered_ack,messages_redelivered,messages_acked}_total':
    'per channel and queue: would need per-(channel, queue) counting on the delivery and ack paths',
  'rabbitmq_queue_messages_published_total per object':
    'RabbitMQ labels it by channel, queue and exchange; Warren counts it per queue (served summed on /metrics)',
  'rabbitmq_*_process_reductions_total': 'Erlang reductions; Warren has no process per queue, channel or connection',
  rabbitmq_queue_process_memory_bytes: 'no process per queue: its memory is not separate',
  'rabbitmq_queue_consumer_{capacity,utilisation}': 'not measured',
  rabbitmq_connection_pending_packets: 'Node does not expose the packets waiting in a socket',
  rabbitmq_alarms_file_descriptor_limit: 'Warren has no file descriptor alarm',
  'rabbitmq_process_*, rabbitmq_disk_space_*, rabbitmq_resident_memory_limit_bytes':
    "node metrics: prom-client's process_* stand for the process ones",
  'rabbitmq_io_*, rabbitmq_msg_store_*, rabbitmq_queue_index_*, rabbitmq_schema_db_*': "RabbitMQ's storage internals",
  'rabbitmq_raft_*': 'no quorum queues (Raft)',
}

let rabbit: RabbitMq | undefined
let warren: WarrenBroker | undefined
const connections: amqp.ChannelModel[] = []
after(async () => {
  for (const c of connections) await c.close().catch(() => undefined)
  await warren?.close()
  await rabbit?.stop()
})

/** The same session on either broker; resolves once the consumer has its deliveries */
async function workload(url: string): Promise<void> {
  // a refused login (a wrong password), then the session's own
  await assert.rejects(amqp.connect(url.replace('guest:guest@', 'guest:wrong@')), /ACCESS.REFUSED/)
  const conn = await amqp.connect(url)
  connections.push(conn)
  const pub = await conn.createConfirmChannel()
  await pub.assertQueue('prom-busy', { durable: false })
  await pub.assertQueue('prom-idle', { durable: false })
  await pub.assertQueue('prom-idle', { durable: false }) // declared twice, created once
  await pub.assertQueue('prom-gone', { durable: false })
  await pub.deleteQueue('prom-gone')
  for (let i = 0; i < 5; i++) pub.sendToQueue('prom-busy', Buffer.from(`busy-${i}`)) // 6 bytes each
  for (let i = 0; i < 3; i++) pub.sendToQueue('prom-idle', Buffer.from('x'.repeat(100)), { timestamp: 1700000000 })
  pub.publish('', 'prom-nowhere', Buffer.from('returned'), { mandatory: true })
  // Messages that die: 2 expire (TTL 0, no consumer) into a dead-letter queue, 2 are pushed out of a
  // length limit with no dead-letter exchange, 1 is rejected with no dead-letter exchange
  await pub.assertQueue('prom-dead', { durable: false })
  const dlx = { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'prom-dead' }
  await pub.assertQueue('prom-ttl', { durable: false, arguments: { 'x-message-ttl': 0, ...dlx } })
  await pub.assertQueue('prom-max', { durable: false, arguments: { 'x-max-length': 1 } })
  await pub.assertQueue('prom-rejected', { durable: false })
  for (let i = 0; i < 2; i++) pub.sendToQueue('prom-ttl', Buffer.from('expires'))
  for (let i = 0; i < 3; i++) pub.sendToQueue('prom-max', Buffer.from('overflows'))
  pub.sendToQueue('prom-rejected', Buffer.from('rejected'))
  await pub.waitForConfirms()
  const rejected = await pub.get('prom-rejected')
  assert.ok(rejected)
  pub.nack(rejected, false, false)
  // a get from the queue after the nack: in RabbitMQ the queue has taken the nack by then
  assert.equal(await pub.get('prom-rejected'), false)
  const sub = await conn.createChannel()
  await sub.prefetch(10)
  let delivered = 0
  await sub.consume('prom-busy', () => void delivered++)
  await eventually(() => delivered === 5, 'five deliveries')
  const closed = await conn.createChannel()
  await closed.close()
}

async function scrapeText(port: number, path: string): Promise<Map<string, Family>> {
  const res = await get(port, path)
  assert.equal(res.status, 200, path)
  return parseExposition(res.body)
}

const labelNames = (f: Family): string[] => [...new Set(f.samples.flatMap((s) => Object.keys(s.labels)))].sort()

/** Every claimed family: in both, same type and help; same label names where RabbitMQ has samples */
function compareFamilies(names: string[], rabbitmq: Map<string, Family>, ours: Map<string, Family>, where: string) {
  for (const name of names) {
    const theirs = rabbitmq.get(name)
    const mine = ours.get(name)
    assert.ok(theirs, `RabbitMQ has no ${name} on ${where}: not a RabbitMQ name`)
    assert.ok(mine, `Warren has no ${name} on ${where}`)
    assert.deepEqual([mine.type, mine.help], [theirs.type, theirs.help], `${name} on ${where}`)
    if (theirs.samples.length > 0) {
      assert.ok(mine.samples.length > 0, `Warren has no samples of ${name} on ${where}`)
      assert.deepEqual(labelNames(mine), labelNames(theirs), `labels of ${name} on ${where}`)
    } else assert.equal(mine.samples.length, 0, `RabbitMQ has no samples of ${name} on ${where}`)
  }
}

/** The one sample of a family whose labels include `labels` */
function sampleOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const found = samplesWith(families, name, labels)
  assert.equal(found.length, 1, `${name}${JSON.stringify(labels)}`)
  return found[0]!.value
}

test("the families Warren claims are RabbitMQ 3.10's: names, types, help, labels; values agree", T, async () => {
  ;[rabbit, warren] = await Promise.all([
    startRabbitMq({ plugins: ['rabbitmq_prometheus'] }),
    startBroker({ port: 0, logLevel: 'silent', prometheusPort: 0 }),
  ])
  const rabbitPort = rabbit.prometheusPort!
  const warrenPort = warren.prometheusPort!
  await Promise.all([workload(rabbit.url), workload(warren.url)])

  // RabbitMQ's channel and connection rows are emitted every collect_statistics_interval (5 s): wait for them
  let rabbitPerObject = new Map<string, Family>()
  await eventually(
    async () => {
      rabbitPerObject = await scrapeText(rabbitPort, '/metrics/per-object')
      const unacked = rabbitPerObject.get('rabbitmq_channel_messages_unacked')?.samples ?? []
      const channels = rabbitPerObject.get('rabbitmq_connection_channels')?.samples ?? []
      return unacked.some((s) => s.value === 5) && channels.some((s) => s.value === 2)
    },
    "RabbitMQ's channel metrics",
    15_000,
  )
  const groups = [...Object.keys(CLAIMED_GROUPS), ...Object.keys(CLUSTER_GROUPS)]
  const detailedPath = `/metrics/detailed?${groups.map((g) => `family=${g}`).join('&')}`
  const [rabbitAggregated, rabbitDetailed, ours, oursPerObject, oursDetailed] = await Promise.all([
    scrapeText(rabbitPort, '/metrics'),
    scrapeText(rabbitPort, detailedPath),
    scrapeText(warrenPort, '/metrics'),
    scrapeText(warrenPort, '/metrics/per-object'),
    scrapeText(warrenPort, detailedPath),
  ])

  const grouped = [...new Set(Object.values(CLAIMED_GROUPS).flat())].map((f) => `rabbitmq_${f}`)
  // logins by source are per object only: on /metrics they would sum to auth_attempt_metrics
  const bySource = CLAIMED_GROUPS['auth_attempt_detailed_metrics']!.map((f) => `rabbitmq_${f}`)
  const summed = grouped.filter((n) => !bySource.includes(n))
  compareFamilies([...CLAIMED_AGGREGATED, ...summed], rabbitAggregated, ours, '/metrics')
  for (const name of bySource) assert.ok(!rabbitAggregated.has(name) && !ours.has(name), `${name} on /metrics`)
  const perObject = [...CLAIMED_AGGREGATED.filter((n) => !n.startsWith('rabbitmq_alarms_')), ...grouped].filter(
    (n) => n !== 'rabbitmq_queue_messages_published_total',
  )
  compareFamilies(perObject, rabbitPerObject, oursPerObject, '/metrics/per-object')
  const detailed = [
    ...grouped.map((n) => n.replace(/^rabbitmq_/, 'rabbitmq_detailed_')),
    ...Object.values(CLUSTER_GROUPS),
    'rabbitmq_identity_info',
  ]
  compareFamilies(detailed, rabbitDetailed, oursDetailed, '/metrics/detailed')
  // /metrics/detailed has only what was asked for (and the identity), as RabbitMQ's
  const served = (m: Map<string, Family>) => [...m.keys()].filter((n) => n.startsWith('rabbitmq_')).sort()
  assert.deepEqual(served(oursDetailed), [...new Set(detailed)].sort())

  // The list of what Warren does not serve names RabbitMQ's families (those named exactly)
  for (const name of Object.keys(NOT_SERVED).filter((n) => /^[a-z_]+$/.test(n))) {
    assert.ok(rabbitAggregated.has(name), `RabbitMQ has ${name}`)
    assert.ok(!ours.has(name), `Warren serves ${name}: take it off NOT_SERVED`)
  }

  // Values that follow from the session, equal on both (per object: the queues and the consuming channel)
  const busy = { vhost: '/', queue: 'prom-busy' }
  const idle = { vhost: '/', queue: 'prom-idle' }
  const expected: [string, Record<string, string>, number][] = [
    ['rabbitmq_queue_messages_ready', idle, 3],
    ['rabbitmq_queue_messages_ready', busy, 0],
    ['rabbitmq_queue_messages_unacked', busy, 5],
    ['rabbitmq_queue_messages', busy, 5],
    ['rabbitmq_queue_consumers', busy, 1],
    ['rabbitmq_queue_messages_bytes', busy, 30],
    ['rabbitmq_queue_messages_unacked_bytes', busy, 30],
    ['rabbitmq_queue_messages_ready_bytes', idle, 300],
    ['rabbitmq_queue_messages_ram', idle, 3],
    ['rabbitmq_queue_messages_ram_bytes', idle, 300],
    ['rabbitmq_queue_messages_ready_ram', idle, 3],
    ['rabbitmq_queue_messages_unacked_ram', busy, 5],
    ['rabbitmq_queue_messages_paged_out', idle, 0],
    ['rabbitmq_queue_head_message_timestamp', idle, 1700000000],
  ]
  for (const [name, labels, value] of expected) {
    assert.equal(sampleOf(rabbitPerObject, name, labels), value, `RabbitMQ: ${name}${JSON.stringify(labels)}`)
    assert.equal(sampleOf(oursPerObject, name, labels), value, `Warren: ${name}${JSON.stringify(labels)}`)
  }
  for (const [name, value] of [
    ['rabbitmq_queues_declared_total', 8],
    ['rabbitmq_queues_created_total', 7],
    ['rabbitmq_queues_deleted_total', 1],
    ['rabbitmq_channels_opened_total', 3],
    ['rabbitmq_channels_closed_total', 1],
    ['rabbitmq_connections_opened_total', 1],
    ['rabbitmq_channel_messages_unacked', 5],
    ['rabbitmq_channel_consumers', 1],
    ['rabbitmq_consumer_prefetch', 10],
    ['rabbitmq_connection_channels', 2],
    ['rabbitmq_global_messages_unroutable_returned_total', 1],
    ['rabbitmq_auth_attempts_total', 2],
    ['rabbitmq_auth_attempts_succeeded_total', 1],
    ['rabbitmq_auth_attempts_failed_total', 1],
  ] as const) {
    assert.equal(sampleOf(rabbitAggregated, name), value, `RabbitMQ: ${name}`)
    assert.equal(sampleOf(ours, name), value, `Warren: ${name}`)
  }
  const classic = { queue_type: 'rabbit_classic_queue' }
  for (const [reason, deadLettered, dropped] of [
    ['expired', 2, 0],
    ['maxlen', 0, 2],
    ['rejected', 0, 1],
  ] as const) {
    const name = `rabbitmq_global_messages_dead_lettered_${reason}_total`
    for (const [strategy, value] of [
      ['at_most_once', deadLettered],
      ['disabled', dropped],
    ] as const) {
      const labels = { ...classic, dead_letter_strategy: strategy }
      assert.equal(sampleOf(rabbitAggregated, name, labels), value, `RabbitMQ: ${name} ${strategy}`)
      assert.equal(sampleOf(ours, name, labels), value, `Warren: ${name} ${strategy}`)
    }
  }
  // Traffic: counted by Warren too (not equal: the brokers' frames differ, e.g. server properties)
  for (const name of ['incoming', 'outgoing']) {
    for (const unit of ['bytes', 'packets']) {
      assert.ok(sampleOf(ours, `rabbitmq_connection_${name}_${unit}_total`) > 0, `${name} ${unit}`)
    }
  }
  // The vhost filter of /metrics/detailed
  const elsewhere = await scrapeText(warrenPort, '/metrics/detailed?family=queue_coarse_metrics&vhost=nowhere')
  assert.equal(elsewhere.get('rabbitmq_detailed_queue_messages_ready')?.samples.length, 0)
  const here = await scrape(warrenPort, '/metrics/detailed?family=queue_coarse_metrics&vhost=%2F')
  assert.equal(here.get('rabbitmq_detailed_queue_messages_ready')?.samples.length, 6)
})
