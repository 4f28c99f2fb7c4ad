// Direct and fanout exchanges, and the default exchange.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startBroker, type TestBroker } from '../../helpers/broker.js'
import {
  Scope,
  TEST_TIMEOUT,
  drain,
  expectChannelError,
  roundTrip,
  waitForMessageCount,
} from '../../helpers/amqplib.js'

describe('amqplib: direct, fanout and default exchange routing', () => {
  let broker: TestBroker
  let scope: Scope

  before(async () => {
    broker = await startBroker()
    scope = new Scope(broker.url, 'direct')
  })
  after(async () => {
    await scope.cleanup()
    await broker.stop()
  })

  test('direct: exact routing key match, several keys per queue, several queues per key', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const x = scope.exchange()
    const [q1, q2, q3] = [scope.queue(), scope.queue(), scope.queue()]
    await ch.assertExchange(x, 'direct', { durable: false })
    for (const q of [q1, q2, q3]) await ch.assertQueue(q, { durable: false })
    await ch.bindQueue(q1, x, 'red')
    await ch.bindQueue(q1, x, 'green')
    await ch.bindQueue(q2, x, 'green')
    await ch.bindQueue(q3, x, '')
    for (const key of ['red', 'green', 'blue', 'RED', 'red.x', '']) ch.publish(x, key, Buffer.from(key))
    await roundTrip(ch)
    await waitForMessageCount(ch, q1, 2)
    assert.deepEqual(await drain(ch, q1), ['red', 'green'])
    assert.deepEqual(await drain(ch, q2), ['green'])
    assert.deepEqual(await drain(ch, q3), [''])
    await conn.close()
  })

  test('direct: the same binding twice is one binding', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const x = scope.exchange()
    const q = scope.queue()
    await ch.assertExchange(x, 'direct', { durable: false })
    await ch.assertQueue(q, { durable: false })
    await ch.bindQueue(q, x, 'k')
    await ch.bindQueue(q, x, 'k')
    ch.publish(x, 'k', Buffer.from('once'))
    await waitForMessageCount(ch, q, 1)
    // one unbind removes it
    await ch.unbindQueue(q, x, 'k')
    ch.publish(x, 'k', Buffer.from('gone'))
    await roundTrip(ch)
    assert.deepEqual(await drain(ch, q), ['once'])
    await conn.close()
  })

  test('fanout: every bound queue gets a copy, whatever the keys', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const x = scope.exchange()
    const queues = [scope.queue(), scope.queue(), scope.queue()]
    await ch.assertExchange(x, 'fanout', { durable: false })
    for (const [i, q] of queues.entries()) {
      await ch.assertQueue(q, { durable: false })
      await ch.bindQueue(q, x, `binding-key-${i}`)
    }
    // the same queue bound twice with different keys still gets one copy
    await ch.bindQueue(queues[0]!, x, 'another-key')
    ch.publish(x, 'whatever', Buffer.from('f1'))
    ch.publish(x, '', Buffer.from('f2'))
    for (const q of queues) {
      await waitForMessageCount(ch, q, 2)
      assert.deepEqual(await drain(ch, q), ['f1', 'f2'])
    }
    await conn.close()
  })

  test('the default exchange routes to the queue named by the routing key', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    ch.publish('', q, Buffer.from('by name'))
    ch.publish('', q.toUpperCase(), Buffer.from('case matters'))
    await waitForMessageCount(ch, q, 1)
    const m = await ch.get(q, { noAck: true })
    assert.ok(m)
    assert.equal(m.content.toString(), 'by name')
    assert.equal(m.fields.exchange, '')
    assert.equal(m.fields.routingKey, q)
    await conn.close()
  })

  test('amq.direct routes like a declared direct exchange', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    const key = scope.name('key')
    await ch.assertQueue(q, { durable: false })
    await ch.bindQueue(q, 'amq.direct', key)
    ch.publish('amq.direct', key, Buffer.from('direct'))
    await waitForMessageCount(ch, q, 1)
    await ch.unbindQueue(q, 'amq.direct', key)
    assert.deepEqual(await drain(ch, q), ['direct'])
    await conn.close()
  })

  test('queues cannot be bound to the default exchange', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    await expectChannelError(ch, ch.bindQueue(q, '', 'other-name'), {
      code: 403,
      text: 'ACCESS_REFUSED - operation not permitted on the default exchange',
    })
    await conn.close()
  })
})
