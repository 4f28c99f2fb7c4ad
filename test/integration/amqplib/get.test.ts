// basic.get: get-ok with its message count, get-empty, acknowledgement of fetched messages, and errors.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startBroker, type TestBroker } from '../../helpers/broker.js'
import {
  Scope,
  TEST_TIMEOUT,
  expectChannelError,
  openChannel,
  roundTrip,
  sendAll,
  waitForMessageCount,
} from '../../helpers/amqplib.js'

describe('amqplib: basic.get', () => {
  let broker: TestBroker
  let scope: Scope

  before(async () => {
    broker = await startBroker()
    scope = new Scope(broker.url, 'get')
  })
  after(async () => {
    await scope.cleanup()
    await broker.stop()
  })

  test('get-ok carries the fields and the number of messages left', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const x = scope.exchange()
    const q = scope.queue()
    await ch.assertExchange(x, 'topic', { durable: false })
    await ch.assertQueue(q, { durable: false })
    await ch.bindQueue(q, x, 'a.#')
    ch.publish(x, 'a.one', Buffer.from('1'))
    ch.publish(x, 'a.two', Buffer.from('2'))
    ch.publish(x, 'a.three', Buffer.from('3'))
    await waitForMessageCount(ch, q, 3)
    const counts: number[] = []
    for (const [i, key] of ['a.one', 'a.two', 'a.three'].entries()) {
      const m = await ch.get(q, { noAck: true })
      assert.ok(m, 'get-ok')
      assert.deepEqual(m.fields, {
        deliveryTag: i + 1,
        redelivered: false,
        exchange: x,
        routingKey: key,
        messageCount: 2 - i,
      })
      assert.equal(m.content.toString(), String(i + 1))
      counts.push(m.fields.messageCount)
    }
    assert.deepEqual(counts, [2, 1, 0])
    assert.equal(await ch.get(q), false, 'get-empty')
    await conn.close()
  })

  test('get-empty on an empty queue, repeatedly', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    for (let i = 0; i < 5; i++) assert.equal(await ch.get(q), false)
    await roundTrip(ch)
    await conn.close()
  })

  test('a message fetched without no-ack stays unacked until acked', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const ch = await openChannel(conn)
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    sendAll(ch, q, ['a', 'b'])
    await waitForMessageCount(ch, q, 2)
    const a = await ch.get(q)
    assert.ok(a)
    assert.equal((await ch.checkQueue(q)).messageCount, 1)
    ch.ack(a)
    const other = await openChannel(conn)
    const b = await other.get(q)
    assert.ok(b)
    // closing the channel returns the unacked 'b', not the acked 'a'
    await other.close()
    await waitForMessageCount(ch, q, 1)
    const again = await ch.get(q, { noAck: true })
    assert.ok(again)
    assert.equal(again.content.toString(), 'b')
    assert.equal(again.fields.redelivered, true)
    await conn.close()
  })

  test('get from a missing queue: 404', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.name('missing')
    await expectChannelError(ch, ch.get(q), {
      code: 404,
      text: `NOT_FOUND - no queue '${q}' in vhost '/'`,
      classId: 60,
      methodId: 70,
    })
    await conn.close()
  })
})
