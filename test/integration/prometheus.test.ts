// The Prometheus endpoint (issue 11) next to an in-process broker, scraped over real HTTP after amqplib has
// published, consumed, fetched and acked: RabbitMQ's metric names, labels, HELP and TYPE lines (those of
// RabbitMQ 3.10's rabbitmq_prometheus, checked against a node with the plugin) and the values.
// Warren-only: it starts Warren's endpoint on the in-process broker.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import amqp from 'amqplib'
import { eventually } from '../helpers/amqplib.js'
import { startBroker, stopAllBrokers, type InProcessBroker } from '../helpers/broker.js'
import { startPrometheusServer, type PrometheusServer } from '../../src/management/prometheus.js'
import { get, scrape, value } from '../helpers/prometheus-text.js'

let broker: InProcessBroker
let prometheus: PrometheusServer

before(async () => {
  broker = await startBroker({ inProcess: true })
  prometheus = await startPrometheusServer(broker.broker, { port: 0, host: '127.0.0.1' })
})

after(async () => {
  await prometheus.close()
  await stopAllBrokers()
})

const PROTOCOL = { protocol: 'amqp091' }
const CLASSIC = { protocol: 'amqp091', queue_type: 'rabbit_classic_queue' }

test('names, types and help texts are those of rabbitmq_prometheus; runtime metrics are there', async () => {
  const families = await scrape(prometheus.port)
  const expected: [string, string, string][] = [
    ['rabbitmq_connections', 'gauge', 'Connections currently open'],
    ['rabbitmq_channels', 'gauge', 'Channels currently open'],
    ['rabbitmq_consumers', 'gauge', 'Consumers currently connected'],
    ['rabbitmq_queues', 'gauge', 'Queues available'],
    ['rabbitmq_queue_messages_ready', 'gauge', 'Messages ready to be delivered to consumers'],
    ['rabbitmq_queue_messages_unacked', 'gauge', 'Messages delivered to consumers but not yet acknowledged'],
    ['rabbitmq_queue_messages', 'gauge', 'Sum of ready and unacknowledged messages - total queue depth'],
    ['rabbitmq_queue_consumers', 'gauge', 'Consumers on a queue'],
    ['rabbitmq_queue_messages_published_total', 'counter', 'Total number of messages published to queues'],
    ['rabbitmq_global_messages_received_total', 'counter', 'Total number of messages received from publishers'],
    ['rabbitmq_global_messages_routed_total', 'counter', 'Total number of messages routed to queues or streams'],
    ['rabbitmq_global_messages_delivered_total', 'counter', 'Total number of messages delivered to consumers'],
    ['rabbitmq_global_messages_acknowledged_total', 'counter', 'Total number of messages acknowledged by consumers'],
    ['rabbitmq_global_messages_confirmed_total', 'counter', 'Total number of messages confirmed to publishers'],
    ['rabbitmq_global_consumers', 'gauge', 'Current number of consumers'],
  ]
  for (const [name, type, help] of expected) {
    const family = families.get(name)
    assert.ok(family, `no ${name}`)
    assert.deepEqual([family.type, family.help], [type, help], name)
  }
  for (const runtime of [
    'process_cpu_user_seconds_total',
    'process_resident_memory_bytes',
    'nodejs_heap_size_used_bytes',
  ]) {
    assert.ok(families.has(runtime), `no ${runtime}`)
  }
  // the aggregated endpoint has no per-queue labels
  assert.deepEqual(families.get('rabbitmq_queue_messages_ready')!.samples[0]!.labels, {})
})

test('after publishing, consuming, fetching and acking, the counts are those RabbitMQ shows', async () => {
  const conn = await amqp.connect(broker.url)
  try {
    const before = await scrape(prometheus.port)
    const ch = await conn.createConfirmChannel()
    await ch.assertQueue('prom-q', { durable: false })
    await ch.assertQueue('prom-idle', { durable: false })
    for (let i = 0; i < 5; i++) ch.sendToQueue('prom-q', Buffer.from(`m${i}`))
    for (let i = 0; i < 3; i++) ch.sendToQueue('prom-idle', Buffer.from(`i${i}`))
    ch.publish('', 'prom-nowhere', Buffer.from('returned'), { mandatory: true })
    ch.publish('', 'prom-nowhere', Buffer.from('dropped'))
    await ch.waitForConfirms()
    const acked = await ch.get('prom-q', { noAck: false })
    assert.ok(acked)
    ch.ack(acked)
    assert.ok(await ch.get('prom-q', { noAck: true }))
    const nacked = await ch.get('prom-q', { noAck: false })
    assert.ok(nacked)
    ch.nack(nacked, false, true)
    const delivered: amqp.ConsumeMessage[] = []
    const all = new Promise<void>((resolve) => {
      void ch.consume('prom-q', (m) => {
        if (m) delivered.push(m)
        if (delivered.length === 3) resolve()
      })
    })
    await all
    // a round trip: the deliveries' counts are in before the scrape
    await ch.checkQueue('prom-q')

    const families = await scrape(prometheus.port)
    const delta = (name: string, labels: Record<string, string>): number =>
      value(families, name, labels) - value(before, name, labels)
    assert.equal(value(families, 'rabbitmq_connections'), 1)
    assert.equal(value(families, 'rabbitmq_channels'), 1)
    assert.equal(value(families, 'rabbitmq_queues'), 2)
    assert.equal(value(families, 'rabbitmq_consumers'), 1)
    assert.equal(value(families, 'rabbitmq_global_consumers', PROTOCOL), 1)
    // prom-q: 3 unacked deliveries; prom-idle: 3 ready
    assert.equal(value(families, 'rabbitmq_queue_messages_ready'), 3)
    assert.equal(value(families, 'rabbitmq_queue_messages_unacked'), 3)
    assert.equal(value(families, 'rabbitmq_queue_messages'), 6)
    assert.equal(value(families, 'rabbitmq_queue_consumers'), 1)
    assert.equal(value(families, 'rabbitmq_queue_messages_published_total'), 8)
    // the same as RabbitMQ 3.10 counts the same session
    assert.equal(delta('rabbitmq_global_messages_received_total', PROTOCOL), 10)
    assert.equal(delta('rabbitmq_global_messages_received_confirm_total', PROTOCOL), 10)
    assert.equal(delta('rabbitmq_global_messages_routed_total', PROTOCOL), 8)
    assert.equal(delta('rabbitmq_global_messages_unroutable_returned_total', PROTOCOL), 1)
    assert.equal(delta('rabbitmq_global_messages_unroutable_dropped_total', PROTOCOL), 1)
    assert.equal(delta('rabbitmq_global_messages_confirmed_total', PROTOCOL), 10)
    assert.equal(delta('rabbitmq_global_messages_delivered_total', CLASSIC), 6)
    assert.equal(delta('rabbitmq_global_messages_delivered_consume_manual_ack_total', CLASSIC), 3)
    assert.equal(delta('rabbitmq_global_messages_delivered_consume_auto_ack_total', CLASSIC), 0)
    assert.equal(delta('rabbitmq_global_messages_delivered_get_manual_ack_total', CLASSIC), 2)
    assert.equal(delta('rabbitmq_global_messages_delivered_get_auto_ack_total', CLASSIC), 1)
    assert.equal(delta('rabbitmq_global_messages_redelivered_total', CLASSIC), 1)
    assert.equal(delta('rabbitmq_global_messages_acknowledged_total', CLASSIC), 1)

    // per object: one sample per queue, labelled vhost and queue
    const perObject = await scrape(prometheus.port, '/metrics/per-object')
    const q = { vhost: '/', queue: 'prom-q' }
    const idle = { vhost: '/', queue: 'prom-idle' }
    assert.equal(value(perObject, 'rabbitmq_queue_messages_ready', q), 0)
    assert.equal(value(perObject, 'rabbitmq_queue_messages_unacked', q), 3)
    assert.equal(value(perObject, 'rabbitmq_queue_messages', q), 3)
    assert.equal(value(perObject, 'rabbitmq_queue_consumers', q), 1)
    assert.equal(value(perObject, 'rabbitmq_queue_messages_ready', idle), 3)
    assert.equal(value(perObject, 'rabbitmq_queue_consumers', idle), 0)
    assert.equal(perObject.get('rabbitmq_queue_messages_ready')!.samples.length, 2)
    assert.equal(
      value(perObject, 'rabbitmq_global_messages_routed_total', PROTOCOL),
      value(families, 'rabbitmq_global_messages_routed_total', PROTOCOL),
    )

    // deleting a queue takes it off the gauges; the counters never go down
    for (const m of delivered) ch.ack(m)
    await ch.deleteQueue('prom-q')
    await ch.deleteQueue('prom-idle')
    const afterDelete = await scrape(prometheus.port)
    assert.equal(value(afterDelete, 'rabbitmq_queues'), 0)
    assert.equal(value(afterDelete, 'rabbitmq_queue_messages'), 0)
    assert.equal(
      value(afterDelete, 'rabbitmq_global_messages_acknowledged_total', CLASSIC) -
        value(before, 'rabbitmq_global_messages_acknowledged_total', CLASSIC),
      4,
    )
    assert.equal(value(afterDelete, 'rabbitmq_queue_messages_published_total'), 8)
    const emptyPerObject = await scrape(prometheus.port, '/metrics/per-object')
    assert.equal(emptyPerObject.get('rabbitmq_queue_messages_ready')!.samples.length, 0)
  } finally {
    await conn.close()
  }
})

test('other paths are 404; the connection count follows connections', async () => {
  assert.equal((await get(prometheus.port, '/')).status, 404)
  assert.equal((await get(prometheus.port, '/metrics/nothing')).status, 404)
  const conns = await Promise.all([amqp.connect(broker.url), amqp.connect(broker.url)])
  try {
    await conns[0]!.createChannel()
    // the earlier test's connection is gone once its socket has closed
    await eventually(() => broker.connections.size === 2, 'two connections open')
    const families = await scrape(prometheus.port)
    assert.equal(value(families, 'rabbitmq_connections'), 2)
    assert.equal(value(families, 'rabbitmq_channels'), 1)
  } finally {
    for (const c of conns) await c.close()
  }
})

test('rabbitmq_identity_info names the cluster and its permanent id as the management API does', async () => {
  const id = broker.broker.tenancy.globalParameters.get('internal_cluster_id')
  assert.match(String(id), /^rabbitmq-cluster-id-/)
  const labels = () =>
    scrape(prometheus.port).then((families) => families.get('rabbitmq_identity_info')!.samples.map((s) => s.labels))
  assert.deepEqual(await labels(), [
    { rabbitmq_node: 'warren@localhost', rabbitmq_cluster: 'warren@localhost', rabbitmq_cluster_permanent_id: id },
  ])
  // PUT /api/cluster-name sets this global parameter; the next scrape says so
  broker.broker.tenancy.setGlobalParameter('cluster_name', 'orders-prod')
  assert.deepEqual(await labels(), [
    { rabbitmq_node: 'warren@localhost', rabbitmq_cluster: 'orders-prod', rabbitmq_cluster_permanent_id: id },
  ])
  broker.broker.tenancy.clearGlobalParameter('cluster_name')
})
