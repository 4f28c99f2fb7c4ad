// basic.publish: message properties and header field types survive the broker unchanged, bodies of any size,
// mandatory returns, sender-selected distribution (CC/BCC), and the publish errors (missing exchange,
// user-id, expiration, immediate).
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import type { Message, Options } from 'amqplib'
import { startBroker, type TestBroker } from '../../helpers/broker.js'
import {
  Scope,
  TEST_TIMEOUT,
  type ExpectedClose,
  consume,
  drain,
  eventually,
  expectChannelError,
  expectConnectionError,
  publishImmediate,
  roundTrip,
  waitForMessageCount,
} from '../../helpers/amqplib.js'

describe('amqplib: publish', () => {
  let broker: TestBroker
  let scope: Scope
  let user: string

  before(async () => {
    broker = await startBroker()
    scope = new Scope(broker.url, 'publish')
    user = decodeURIComponent(new URL(broker.url).username) || 'guest'
  })
  after(async () => {
    await scope.cleanup()
    await broker.stop()
  })

  /** A connection and channel of the test's own, and a fresh non-durable queue declared on it */
  async function openWithQueue() {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    return { conn, ch, q }
  }

  /** Publishing 'x' to `exchange` (routing key 'k') with `options`, on a connection of its own, closes the
   * channel with `expected` */
  async function expectPublishRefused(exchange: string, options: Options.Publish, expected: ExpectedClose) {
    const { conn, ch } = await scope.open()
    await expectChannelError(ch, () => ch.publish(exchange, 'k', Buffer.from('x'), options), expected)
    await conn.close()
  }

  test('every basic property survives the round trip', TEST_TIMEOUT, async () => {
    const { conn, ch, q } = await openWithQueue()
    const properties = {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      headers: { greeting: 'hello' },
      deliveryMode: 2,
      priority: 7,
      correlationId: 'corr-1',
      replyTo: 'reply-queue',
      expiration: '600000',
      messageId: 'msg-1',
      timestamp: Math.floor(Date.now() / 1000),
      type: 'example.type',
      userId: user,
      appId: 'warren-tests',
    }
    ch.sendToQueue(q, Buffer.from('{"a":1}'), properties)
    const { inbox } = await consume(ch, q, { noAck: true })
    const [m] = await inbox.waitFor(1)
    assert.equal(m!.content.toString(), '{"a":1}')
    // every property sent comes back as it was (amqplib adds clusterId, unset)
    assert.deepEqual({ ...m!.properties }, { ...properties, clusterId: undefined })
    await conn.close()
  })

  test('absent properties stay absent', TEST_TIMEOUT, async () => {
    const { conn, ch, q } = await openWithQueue()
    ch.sendToQueue(q, Buffer.from('plain'))
    await waitForMessageCount(ch, q, 1)
    const m = await ch.get(q, { noAck: true })
    assert.ok(m)
    // amqplib always sends a (here empty) headers table
    assert.deepEqual(
      { ...m.properties },
      {
        contentType: undefined,
        contentEncoding: undefined,
        headers: {},
        deliveryMode: undefined,
        priority: undefined,
        correlationId: undefined,
        replyTo: undefined,
        expiration: undefined,
        messageId: undefined,
        timestamp: undefined,
        type: undefined,
        userId: undefined,
        appId: undefined,
        clusterId: undefined,
      },
    )
    await conn.close()
  })

  test('headers of every field type survive unchanged', TEST_TIMEOUT, async () => {
    const { conn, ch, q } = await openWithQueue()
    // the values amqplib sends and decodes as they are (timestamp and decimal stay tagged)
    const asSent = {
      longstr: 'text ✓',
      emptystr: '',
      byte: -5,
      short: -3000,
      int: 70000,
      long: 2 ** 40,
      negLong: -(2 ** 40),
      double: 3.25,
      trueValue: true,
      falseValue: false,
      voidValue: null,
      bytes: Buffer.from([0, 1, 2, 255]),
      timestamp: { '!': 'timestamp', value: 1700000000 },
      decimal: { '!': 'decimal', value: { places: 2, digits: 12345 } },
      array: ['a', 1, true, null, ['nested'], { k: 'v' }],
      emptyArray: [],
      table: { inner: { deeper: 'x', n: 1 }, list: [1, 2] },
      emptyTable: {},
    }
    const headers = {
      ...asSent,
      float: { '!': 'float', value: 1.5 },
      unsignedbyte: { '!': 'unsignedbyte', value: 200 },
      unsignedshort: { '!': 'unsignedshort', value: 60000 },
      unsignedint: { '!': 'unsignedint', value: 4000000000 },
      int64: { '!': 'int64', value: 5 },
    }
    ch.sendToQueue(q, Buffer.from('h'), { headers })
    const { inbox } = await consume(ch, q, { noAck: true })
    const [m] = await inbox.waitFor(1)
    // what amqplib decodes: integers and floats become numbers, timestamp and decimal stay tagged
    assert.deepEqual(m!.properties.headers, {
      ...asSent,
      float: 1.5,
      unsignedbyte: 200,
      unsignedshort: 60000,
      unsignedint: 4000000000,
      int64: 5,
    })
    await conn.close()
  })

  test('a 1 MB body is split over many frames and reassembled', TEST_TIMEOUT, async () => {
    const { conn, ch, q } = await openWithQueue()
    const body = Buffer.alloc(1024 * 1024)
    for (let i = 0; i < body.length; i += 4) body.writeUInt32BE(i, i)
    ch.sendToQueue(q, body)
    await waitForMessageCount(ch, q, 1)
    const got = await ch.get(q, { noAck: true })
    assert.ok(got)
    assert.equal(got.content.length, body.length)
    assert.ok(got.content.equals(body), 'basic.get-ok body')
    ch.sendToQueue(q, body)
    const { inbox } = await consume(ch, q, { noAck: true })
    const [m] = await inbox.waitFor(1)
    assert.equal(m!.content.length, body.length)
    assert.ok(m!.content.equals(body), 'basic.deliver body')
    await conn.close()
  })

  test('an empty body', TEST_TIMEOUT, async () => {
    const { conn, ch, q } = await openWithQueue()
    ch.sendToQueue(q, Buffer.alloc(0), { messageId: 'empty-1' })
    ch.sendToQueue(q, Buffer.alloc(0), { messageId: 'empty-2' })
    await waitForMessageCount(ch, q, 2)
    const got = await ch.get(q, { noAck: true })
    assert.ok(got)
    assert.equal(got.content.length, 0)
    assert.equal(got.properties.messageId, 'empty-1')
    const { inbox } = await consume(ch, q, { noAck: true })
    const [m] = await inbox.waitFor(1)
    assert.equal(m!.content.length, 0)
    assert.equal(m!.properties.messageId, 'empty-2')
    await conn.close()
  })

  test('many messages keep their order', TEST_TIMEOUT, async () => {
    const { conn, ch, q } = await openWithQueue()
    const bodies = Array.from({ length: 2000 }, (_, i) => `message ${i}`)
    const { inbox } = await consume(ch, q, { noAck: true })
    for (const b of bodies) ch.sendToQueue(q, Buffer.from(b))
    await inbox.waitFor(bodies.length, 15_000)
    assert.deepEqual(inbox.bodies(), bodies)
    await conn.close()
  })

  test('mandatory and unroutable: basic.return 312 NO_ROUTE with the message', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const x = scope.exchange()
    await ch.assertExchange(x, 'direct', { durable: false })
    const returned: Message[] = []
    ch.on('return', (m: Message) => returned.push(m))
    ch.publish(x, 'nowhere', Buffer.from('bounce'), { mandatory: true, messageId: 'm1', headers: { h: 1 } })
    // to the default exchange, naming a queue that does not exist
    const missing = scope.name('missing')
    ch.sendToQueue(missing, Buffer.from('bounce 2'), { mandatory: true })
    // not mandatory: silently dropped
    ch.publish(x, 'nowhere', Buffer.from('dropped'))
    await eventually(() => returned.length >= 2, 'two basic.return')
    await roundTrip(ch)
    assert.equal(returned.length, 2)
    const [first, second] = returned
    assert.deepEqual(first!.fields, { replyCode: 312, replyText: 'NO_ROUTE', exchange: x, routingKey: 'nowhere' })
    assert.equal(first!.content.toString(), 'bounce')
    assert.equal(first!.properties.messageId, 'm1')
    assert.deepEqual(first!.properties.headers, { h: 1 })
    assert.deepEqual(second!.fields, { replyCode: 312, replyText: 'NO_ROUTE', exchange: '', routingKey: missing })
    assert.equal(second!.content.toString(), 'bounce 2')
    await conn.close()
  })

  test('mandatory and routed: no return', TEST_TIMEOUT, async () => {
    const { conn, ch, q } = await openWithQueue()
    let returns = 0
    ch.on('return', () => returns++)
    ch.sendToQueue(q, Buffer.from('ok'), { mandatory: true })
    await waitForMessageCount(ch, q, 1)
    await roundTrip(ch)
    assert.equal(returns, 0)
    await conn.close()
  })

  test('publishing to a missing exchange: 404 channel error', TEST_TIMEOUT, async () => {
    const x = scope.name('missing')
    await expectPublishRefused(
      x,
      {},
      { code: 404, text: `NOT_FOUND - no exchange '${x}' in vhost '/'`, classId: 60, methodId: 40 },
    )
  })

  test('a user-id that is not the authenticated user: 406 channel error', TEST_TIMEOUT, async () => {
    await expectPublishRefused(
      'amq.direct',
      { userId: 'mallory' },
      {
        code: 406,
        text: `PRECONDITION_FAILED - user_id property set to 'mallory' but authenticated user was '${user}'`,
        classId: 60,
        methodId: 40,
      },
    )
  })

  test('an invalid expiration: 406 channel error', TEST_TIMEOUT, async () => {
    await expectPublishRefused(
      'amq.direct',
      { expiration: 'soon' },
      { code: 406, text: "PRECONDITION_FAILED - invalid expiration 'soon': no_integer", classId: 60, methodId: 40 },
    )
    await expectPublishRefused(
      'amq.direct',
      { expiration: '-1' },
      { code: 406, text: "PRECONDITION_FAILED - invalid expiration '-1': {value_negative,-1}" },
    )
  })

  test('the immediate flag is a 540 NOT_IMPLEMENTED connection error', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    await expectConnectionError(conn, () => publishImmediate(ch, 'amq.direct', 'k', Buffer.from('x')), {
      code: 540,
      text: 'NOT_IMPLEMENTED - immediate=true',
    })
  })

  test('CC and BCC headers add routing keys; BCC is removed before delivery', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const x = scope.exchange()
    const [q1, q2, q3, q4] = [scope.queue('k1'), scope.queue('k2'), scope.queue('k3'), scope.queue('k4')]
    await ch.assertExchange(x, 'direct', { durable: false })
    for (const [q, key] of [
      [q1, 'k1'],
      [q2, 'k2'],
      [q3, 'k3'],
      [q4, 'k4'],
    ] as const) {
      await ch.assertQueue(q, { durable: false })
      await ch.bindQueue(q, x, key)
    }
    ch.publish(x, 'k1', Buffer.from('ssd'), { CC: ['k2'], BCC: 'k3' })
    for (const q of [q1, q2, q3]) await waitForMessageCount(ch, q, 1)
    for (const q of [q1, q2, q3]) {
      const m = await ch.get(q, { noAck: true })
      assert.ok(m)
      assert.equal(m.fields.routingKey, 'k1', 'the delivery carries the publish routing key')
      assert.deepEqual(m.properties.headers, { CC: ['k2'] }, 'CC is kept, BCC is stripped')
    }
    assert.equal((await ch.checkQueue(q4)).messageCount, 0)
    assert.deepEqual(await drain(ch, q1), [])
    await conn.close()
  })
})
