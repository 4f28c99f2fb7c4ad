// What a queue wrote to and read from disk, and its persistent messages, as RabbitMQ 3.10 counts them
// (checked against a 3.10.8 node: rabbitmqctl list_queues disk_reads disk_writes messages_persistent):
// a persistent message to a durable queue is one write when it is stored; a transient one is written only
// when it is paged out, and a message is one read when it comes back from disk (a paged-out persistent
// message from the store, a page of transient messages). Served by Prometheus (rabbitmq_queue_disk_*_total,
// rabbitmq_queue_messages_persistent{,_bytes}) and the management API (the overview's message_stats, a
// queue's messages_persistent and message_bytes_persistent).
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import amqp from 'amqplib'
import { eventually } from '../helpers/amqplib.js'
import { stopAllBrokers, type InProcessBroker } from '../helpers/broker.js'
import { apiClient, startBrokerWithApi, type Body } from '../helpers/management-http.js'
import { scrape, value } from '../helpers/prometheus-text.js'
import { startPrometheusServer, type PrometheusServer } from '../../src/management/prometheus.js'

const T = { timeout: 60_000 }
const servers: { close(): Promise<void> }[] = []
const connections: amqp.ChannelModel[] = []
after(async () => {
  for (const c of connections) await c.close().catch(() => undefined)
  for (const s of servers) await s.close()
  await stopAllBrokers()
})

interface Setup {
  broker: InProcessBroker
  prometheus: PrometheusServer
  api: ReturnType<typeof apiClient>
  conn: amqp.ChannelModel
  ch: amqp.ConfirmChannel
}

async function setup(options: Parameters<typeof startBrokerWithApi>[0] = {}): Promise<Setup> {
  const { broker, api, base } = await startBrokerWithApi(options)
  const prometheus = await startPrometheusServer(broker.broker, { port: 0, host: '127.0.0.1' })
  servers.push(api, prometheus)
  const conn = await amqp.connect(broker.url)
  connections.push(conn)
  return { broker, prometheus, api: apiClient(() => base), conn, ch: await conn.createConfirmChannel() }
}

/** The four families of one queue, per object */
async function queueMetrics(s: Setup, queue: string) {
  const m = await scrape(s.prometheus.port, '/metrics/per-object')
  const labels = { vhost: '/', queue }
  return {
    writes: value(m, 'rabbitmq_queue_disk_writes_total', labels),
    reads: value(m, 'rabbitmq_queue_disk_reads_total', labels),
    persistent: value(m, 'rabbitmq_queue_messages_persistent', labels),
    persistentBytes: value(m, 'rabbitmq_queue_messages_persistent_bytes', labels),
  }
}

async function overview(s: Setup): Promise<Body> {
  const res = await s.api('GET', '/api/overview')
  assert.equal(res.status, 200)
  return res.json.message_stats
}

test(
  'persistent messages to a durable queue are disk writes and persistent messages until acked; transient ones are neither',
  T,
  async () => {
    const s = await setup()
    await s.ch.assertQueue('dq', { durable: true })
    await s.ch.assertQueue('tq', { durable: false })
    // bodies of 10 to 14 bytes: 60 bytes
    for (let i = 0; i < 5; i++) s.ch.sendToQueue('dq', Buffer.alloc(10 + i, 'p'), { persistent: true })
    for (let i = 0; i < 3; i++) s.ch.sendToQueue('dq', Buffer.from('transient'))
    // persistent, but the queue is not durable: not stored, so neither written nor persistent (as RabbitMQ)
    for (let i = 0; i < 4; i++) s.ch.sendToQueue('tq', Buffer.from('p'), { persistent: true })
    await s.ch.waitForConfirms()

    assert.deepEqual(await queueMetrics(s, 'dq'), { writes: 5, reads: 0, persistent: 5, persistentBytes: 60 })
    assert.deepEqual(await queueMetrics(s, 'tq'), { writes: 0, reads: 0, persistent: 0, persistentBytes: 0 })
    // summed on /metrics, and in /metrics/detailed's queue_metrics
    const summed = await scrape(s.prometheus.port, '/metrics')
    assert.equal(value(summed, 'rabbitmq_queue_disk_writes_total'), 5)
    assert.equal(value(summed, 'rabbitmq_queue_messages_persistent'), 5)
    // (RabbitMQ's /metrics has no sample of the bytes, as of the head's timestamp)
    assert.deepEqual(summed.get('rabbitmq_queue_messages_persistent_bytes')?.samples, [])
    const detailed = await scrape(s.prometheus.port, '/metrics/detailed?family=queue_metrics')
    assert.equal(value(detailed, 'rabbitmq_detailed_queue_disk_writes_total', { vhost: '/', queue: 'dq' }), 5)
    assert.equal(value(detailed, 'rabbitmq_detailed_queue_messages_persistent', { vhost: '/', queue: 'dq' }), 5)
    const stats = await overview(s)
    assert.equal(stats.disk_writes, 5)
    assert.equal(stats.disk_reads, 0)
    assert.deepEqual(Object.keys(stats.disk_writes_details), ['rate'])

    // Delivered and not yet acked: still persistent messages of the queue (RabbitMQ counts ready + unacked)
    const consumer = await s.conn.createChannel()
    const got: amqp.GetMessage[] = []
    for (let i = 0; i < 2; i++) got.push((await consumer.get('dq')) as amqp.GetMessage)
    assert.deepEqual(
      got.map((m) => m.content.length),
      [10, 11],
    )
    assert.deepEqual(await queueMetrics(s, 'dq'), { writes: 5, reads: 0, persistent: 5, persistentBytes: 60 })
    consumer.ack(got[1]!, true)
    await eventually(async () => (await queueMetrics(s, 'dq')).persistent === 3, 'the acks to count')
    assert.deepEqual(await queueMetrics(s, 'dq'), { writes: 5, reads: 0, persistent: 3, persistentBytes: 39 })
    const queue = (await s.api('GET', '/api/queues/%2F/dq')).json
    assert.equal(queue.messages_persistent, 3)
    assert.equal(queue.message_bytes_persistent, 39)
    // (a queue's message_stats have no disk counts in RabbitMQ 3.10: its overview's alone)
    assert.equal(queue.message_stats.disk_writes, undefined)

    // A purge forgets the rest
    await s.ch.purgeQueue('dq')
    assert.deepEqual(await queueMetrics(s, 'dq'), { writes: 5, reads: 0, persistent: 0, persistentBytes: 0 })
  },
)

test(
  'paged-out messages count as reads when they come back from disk, transient ones as writes when paged',
  T,
  async () => {
    // A small budget: persistent messages past it stay in the store only, transient ones go to pages
    const s = await setup({
      messageMemoryBudget: 64 * 1024,
      store: { transientPages: { maxChunkBytes: 64 * 1024 } },
    })
    const queues = s.broker.broker.vhosts.get('/')!.queues
    await s.ch.assertQueue('durable-q', { durable: true })
    await s.ch.assertQueue('transient-q', { durable: false })
    const body = Buffer.alloc(1000, 'x')
    for (let i = 0; i < 300; i++) s.ch.sendToQueue('durable-q', body, { persistent: true })
    for (let i = 0; i < 20_000; i++) s.ch.sendToQueue('transient-q', body.subarray(0, 200))
    await s.ch.waitForConfirms()
    await eventually(() => s.broker.broker.memory.pages!.writes === 0, 'page writes to end')

    const durablePaged = queues.get('durable-q')!.pagedOut
    const transientPaged = queues.get('transient-q')!.pagedOut
    assert.ok(durablePaged > 0 && transientPaged > 0, `paged out: ${durablePaged} and ${transientPaged}`)
    // Stored once each; nothing read back yet
    assert.deepEqual(await queueMetrics(s, 'durable-q'), {
      writes: 300,
      reads: 0,
      persistent: 300,
      persistentBytes: 300_000,
    })
    // Transient messages are written when their page is
    assert.deepEqual(await queueMetrics(s, 'transient-q'), {
      writes: transientPaged,
      reads: 0,
      persistent: 0,
      persistentBytes: 0,
    })

    // Consumed: each paged-out message is read back once
    const consumer = await s.conn.createChannel()
    for (const [name, count] of [
      ['durable-q', 300],
      ['transient-q', 20_000],
    ] as const) {
      let received = 0
      await consumer.consume(name, () => void received++, { noAck: true })
      await eventually(() => received === count, `${name} consumed`)
    }
    assert.deepEqual(await queueMetrics(s, 'durable-q'), {
      writes: 300,
      reads: durablePaged,
      persistent: 0,
      persistentBytes: 0,
    })
    assert.deepEqual(await queueMetrics(s, 'transient-q'), {
      writes: transientPaged,
      reads: transientPaged,
      persistent: 0,
      persistentBytes: 0,
    })
    const stats = await overview(s)
    assert.equal(stats.disk_writes, 300 + transientPaged)
    assert.equal(stats.disk_reads, durablePaged + transientPaged)
  },
)
