// GET /api/queues/{vhost}/{queue}/messages: Warren's side-effect-free look at a queue, for the web UI's
// message viewer. RabbitMQ's POST .../get with requeue reorders nothing only by luck and marks every message
// redelivered; a peek must leave order, flags and counters as they were, also for messages paged out to the
// store, priority queues and messages that have been delivered and requeued once.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import amqp from 'amqplib'
import { TEST_TIMEOUT, openConfirmChannel } from '../helpers/amqplib.js'
import type { InProcessBroker } from '../helpers/broker.js'
import { apiClient, startBrokerWithApi, basicAuth } from '../helpers/management-http.js'
import type { ManagementServer } from '../../src/management/api/server.js'

const inProcessOnly = { skip: process.env['WARREN_TEST_URL'] ? 'a Warren extension of the management API' : false }

describe('peeking at messages through the management API', inProcessOnly, () => {
  let broker: InProcessBroker
  let api: ManagementServer
  let base: string
  const call = apiClient(() => base)

  before(async () => {
    // a 64 KiB message budget: most of a long durable queue lives only in the store
    ;({ broker, api, base } = await startBrokerWithApi({ messageMemoryBudget: 64 * 1024 }))
  })

  after(async () => {
    await api?.close()
    await broker?.stop()
  })

  test('shows messages head first with their properties and leaves the queue untouched', TEST_TIMEOUT, async () => {
    const conn = await amqp.connect(broker.url)
    const ch = await openConfirmChannel(conn)
    await ch.assertQueue('peek-plain')
    ch.sendToQueue('peek-plain', Buffer.from('{"n":1}'), {
      contentType: 'application/json',
      headers: { k: 'v' },
      correlationId: 'c1',
    })
    ch.sendToQueue('peek-plain', Buffer.from([0, 1, 2, 255]))
    ch.sendToQueue('peek-plain', Buffer.from('third'))
    await ch.waitForConfirms()
    // the first is delivered once and requeued: redelivered, and back at the head
    const first = await ch.get('peek-plain', { noAck: false })
    assert.ok(first)
    ch.nack(first, false, true)
    await ch.checkQueue('peek-plain')

    const before = (await call('GET', '/api/queues/%2F/peek-plain')).json
    const peek = await call('GET', '/api/queues/%2F/peek-plain/messages?count=10')
    assert.equal(peek.status, 200)
    assert.deepEqual(
      peek.json.map((m: { position: number; payload: string; payload_encoding: string; redelivered: boolean }) => [
        m.position,
        Buffer.from(m.payload, 'base64').toString('hex'),
        m.payload_encoding,
        m.redelivered,
      ]),
      [
        [0, Buffer.from('{"n":1}').toString('hex'), 'base64', true],
        [1, '000102ff', 'base64', false],
        [2, Buffer.from('third').toString('hex'), 'base64', false],
      ],
    )
    assert.deepEqual(peek.json[0], {
      position: 0,
      payload_bytes: 7,
      redelivered: true,
      exchange: '',
      routing_key: 'peek-plain',
      message_count: 2,
      properties: { content_type: 'application/json', correlation_id: 'c1', headers: { k: 'v' } },
      payload: Buffer.from('{"n":1}').toString('base64'),
      payload_encoding: 'base64',
    })
    // offset, count and truncate
    const second = (await call('GET', '/api/queues/%2F/peek-plain/messages?offset=1&count=1&truncate=2')).json
    assert.equal(second.length, 1)
    assert.equal(second[0].position, 1)
    assert.equal(second[0].payload_bytes, 4)
    assert.equal(Buffer.from(second[0].payload, 'base64').toString('hex'), '0001')
    assert.deepEqual((await call('GET', '/api/queues/%2F/peek-plain/messages?offset=3')).json, [])

    // the queue's counters did not move, and amqplib gets the same messages in the same order and flags
    const afterPeek = (await call('GET', '/api/queues/%2F/peek-plain')).json
    assert.equal(afterPeek.messages_ready, 3)
    assert.deepEqual(afterPeek.message_stats?.get ?? 0, before.message_stats?.get ?? 0)
    assert.deepEqual(afterPeek.message_stats?.redeliver ?? 0, before.message_stats?.redeliver ?? 0)
    const got: [string, boolean][] = []
    for (let i = 0; i < 3; i++) {
      const m = await ch.get('peek-plain', { noAck: true })
      assert.ok(m)
      got.push([m.content.toString('hex'), m.fields.redelivered])
    }
    assert.deepEqual(got, [
      [Buffer.from('{"n":1}').toString('hex'), true],
      ['000102ff', false],
      [Buffer.from('third').toString('hex'), false],
    ])
    await conn.close()
  })

  test('reads paged-out messages from the store and leaves them there', TEST_TIMEOUT, async () => {
    const conn = await amqp.connect(broker.url)
    const ch = await openConfirmChannel(conn)
    await ch.assertQueue('peek-long', { durable: true })
    for (let i = 0; i < 300; i++)
      ch.sendToQueue('peek-long', Buffer.concat([Buffer.from(`${i}:`), Buffer.alloc(1024, 1)]), { persistent: true })
    await ch.waitForConfirms()
    const queue = broker.broker.vhosts.get('/')!.queues.get('peek-long')!
    const pagedOut = queue.pagedOut
    assert.ok(pagedOut > 200, `most are paged out (${pagedOut})`)
    const tail = (await call('GET', '/api/queues/%2F/peek-long/messages?offset=290&count=20&truncate=8')).json
    assert.deepEqual(
      tail.map((m: { position: number; payload: string }) => [m.position, Buffer.from(m.payload, 'base64').toString()]),
      Array.from({ length: 10 }, (_, k) => [290 + k, `${290 + k}:\x01\x01\x01\x01\x01\x01`.slice(0, 8)]),
    )
    assert.equal(queue.pagedOut, pagedOut)
    assert.equal(queue.messageCount, 300)
    await ch.purgeQueue('peek-long')
    await conn.close()
  })

  test('a priority queue shows messages in the order consumers get them', TEST_TIMEOUT, async () => {
    const conn = await amqp.connect(broker.url)
    const ch = await openConfirmChannel(conn)
    await ch.assertQueue('peek-prio', { maxPriority: 5 })
    for (const [body, priority] of [
      ['low', 1],
      ['high', 5],
      ['none', 0],
      ['mid', 3],
    ] as const)
      ch.sendToQueue('peek-prio', Buffer.from(body), { priority })
    await ch.waitForConfirms()
    const peek = (await call('GET', '/api/queues/%2F/peek-prio/messages')).json
    const order = peek.map((m: { payload: string }) => Buffer.from(m.payload, 'base64').toString())
    assert.deepEqual(order, ['high', 'mid', 'low', 'none'])
    const consumed: string[] = []
    for (let i = 0; i < 4; i++)
      consumed.push(((await ch.get('peek-prio', { noAck: true })) || assert.fail()).content.toString())
    assert.deepEqual(consumed, order)
    await conn.close()
  })

  test('errors and permissions are those of POST .../get', TEST_TIMEOUT, async () => {
    broker.broker.putUser('peeker', { password: 'p', tags: ['management'] })
    broker.broker.setPermission('peeker', '/', { configure: '', write: '', read: '^allowed' })
    const conn = await amqp.connect(broker.url)
    const ch = await conn.createChannel()
    await ch.assertQueue('allowed-q')
    await ch.assertQueue('secret-q')
    const peeker = basicAuth('peeker', 'p')
    assert.equal((await call('GET', '/api/queues/%2F/allowed-q/messages', undefined, peeker)).status, 200)
    const refused = await call('GET', '/api/queues/%2F/secret-q/messages', undefined, peeker)
    assert.equal(refused.status, 401)
    assert.equal((await call('GET', '/api/queues/%2F/no-such-queue/messages')).status, 404)
    assert.equal((await call('GET', '/api/queues/nohost/allowed-q/messages')).status, 404)
    const bad = await call('GET', '/api/queues/%2F/allowed-q/messages?count=-1')
    assert.equal(bad.status, 400)
    assert.equal(bad.json.error, 'bad_request')
    assert.equal((await call('GET', '/api/queues/%2F/allowed-q/messages?count=1001')).status, 400)
    await conn.close()
  })
})
