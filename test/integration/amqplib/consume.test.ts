// basic.consume / basic.cancel / basic.deliver: consumer tags, exclusive consumers, no-ack, round-robin,
// consumer priorities, delivery fields, and cancellation by the server.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startBroker, type TestBroker } from '../../helpers/broker.js'
import {
  SERVER_CONSUMER_TAG,
  Scope,
  TEST_TIMEOUT,
  consume,
  expectChannelError,
  expectConnectionError,
  openChannel,
  roundTrip,
  sendAll,
  waitForMessageCount,
} from '../../helpers/amqplib.js'

describe('amqplib: consume', () => {
  let broker: TestBroker
  let scope: Scope

  before(async () => {
    broker = await startBroker()
    scope = new Scope(broker.url, 'consume')
  })
  after(async () => {
    await scope.cleanup()
    await broker.stop()
  })

  test('publish and consume round trip, with the delivery fields', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    sendAll(ch, q, ['one', 'two'])
    const { consumerTag, inbox } = await consume(ch, q)
    const [a, b] = await inbox.waitFor(2)
    assert.deepEqual(
      [a!.fields, b!.fields],
      [
        { consumerTag, deliveryTag: 1, redelivered: false, exchange: '', routingKey: q },
        { consumerTag, deliveryTag: 2, redelivered: false, exchange: '', routingKey: q },
      ],
    )
    assert.deepEqual(inbox.bodies(), ['one', 'two'])
    ch.ack(b!, true)
    await conn.close()
  })

  test('server-generated consumer tags: amq.ctag- and 22 url-safe base64 characters', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    const tags = new Set<string>()
    for (let i = 0; i < 10; i++) {
      const { consumerTag } = await ch.consume(q, () => {})
      assert.match(consumerTag, SERVER_CONSUMER_TAG)
      tags.add(consumerTag)
    }
    assert.equal(tags.size, 10)
    assert.equal((await ch.checkQueue(q)).consumerCount, 10)
    await conn.close()
  })

  test('an explicit consumer tag is used as given', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    const { consumerTag, inbox } = await consume(ch, q, { consumerTag: 'my tag ✓' })
    assert.equal(consumerTag, 'my tag ✓')
    ch.sendToQueue(q, Buffer.from('x'))
    const [m] = await inbox.waitFor(1)
    assert.equal(m!.fields.consumerTag, 'my tag ✓')
    assert.deepEqual(await ch.cancel('my tag ✓'), { consumerTag: 'my tag ✓' })
    await conn.close()
  })

  test('reusing a consumer tag on the same channel is a 530 NOT_ALLOWED connection error', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    await ch.consume(q, () => {}, { consumerTag: 'dup' })
    // consumer tags are scoped to the channel: another channel may use the same tag
    const other = await openChannel(conn)
    assert.equal((await other.consume(q, () => {}, { consumerTag: 'dup' })).consumerTag, 'dup')
    await expectConnectionError(
      conn,
      ch.consume(q, () => {}, { consumerTag: 'dup' }),
      {
        code: 530,
        text: "NOT_ALLOWED - attempt to reuse consumer tag 'dup'",
      },
    )
  })

  test('exclusive consumers: 403 ACCESS_REFUSED for any conflicting consume', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const q = scope.queue()
    const inUse = {
      code: 403,
      text: `ACCESS_REFUSED - queue '${q}' in vhost '/' in exclusive use`,
      classId: 60,
      methodId: 20,
    }
    const first = await openChannel(conn)
    await first.assertQueue(q, { durable: false })
    const { consumerTag } = await first.consume(q, () => {})
    // exclusive while another consumer exists
    let ch = await openChannel(conn)
    await expectChannelError(
      ch,
      ch.consume(q, () => {}, { exclusive: true }),
      inUse,
    )
    await first.cancel(consumerTag)
    const exclusive = await first.consume(q, () => {}, { exclusive: true })
    // any consumer while an exclusive one exists, even on the same channel
    ch = await openChannel(conn)
    await expectChannelError(
      ch,
      ch.consume(q, () => {}),
      inUse,
    )
    await expectChannelError(
      first,
      first.consume(q, () => {}),
      inUse,
    )
    // once cancelled, the queue is free again
    ch = await openChannel(conn)
    await ch.cancel(exclusive.consumerTag)
    await ch.consume(q, () => {})
    assert.equal((await ch.checkQueue(q)).consumerCount, 1)
    await conn.close()
  })

  test('consume from a missing queue: 404', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.name('missing')
    await expectChannelError(
      ch,
      ch.consume(q, () => {}),
      {
        code: 404,
        text: `NOT_FOUND - no queue '${q}' in vhost '/'`,
        classId: 60,
        methodId: 20,
      },
    )
    await conn.close()
  })

  test('no-ack consumers: messages are gone once delivered', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    sendAll(ch, q, ['a', 'b', 'c'])
    const { consumerTag, inbox } = await consume(ch, q, { noAck: true })
    await inbox.waitFor(3)
    await ch.cancel(consumerTag)
    await ch.close()
    const check = await openChannel(conn)
    assert.equal((await check.checkQueue(q)).messageCount, 0, 'nothing is requeued when the channel closes')
    await conn.close()
  })

  test('acknowledging a no-ack delivery: 406 unknown delivery tag', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    ch.sendToQueue(q, Buffer.from('x'))
    const { inbox } = await consume(ch, q, { noAck: true })
    const [m] = await inbox.waitFor(1)
    await expectChannelError(ch, () => ch.ack(m!), {
      code: 406,
      text: 'PRECONDITION_FAILED - unknown delivery tag 1',
      classId: 60,
      methodId: 80,
    })
    await conn.close()
  })

  test('cancel stops deliveries; cancelling an unknown tag is not an error', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    const { consumerTag, inbox } = await consume(ch, q, { noAck: true })
    ch.sendToQueue(q, Buffer.from('before'))
    await inbox.waitFor(1)
    assert.deepEqual(await ch.cancel(consumerTag), { consumerTag })
    ch.sendToQueue(q, Buffer.from('after'))
    await waitForMessageCount(ch, q, 1)
    await inbox.expectCount(1)
    assert.equal((await ch.checkQueue(q)).consumerCount, 0)
    assert.deepEqual(await ch.cancel('no-such-consumer'), { consumerTag: 'no-such-consumer' })
    await roundTrip(ch)
    await conn.close()
  })

  test('deliveries made before a cancel can still be acknowledged', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    sendAll(ch, q, ['a', 'b'])
    const { consumerTag, inbox } = await consume(ch, q)
    const [a, b] = await inbox.waitFor(2)
    await ch.cancel(consumerTag)
    ch.ack(a!)
    ch.reject(b!, true)
    await waitForMessageCount(ch, q, 1)
    const again = await ch.get(q, { noAck: true })
    assert.ok(again)
    assert.equal(again.content.toString(), 'b')
    assert.equal(again.fields.redelivered, true)
    await conn.close()
  })

  test('messages are dispatched round-robin between consumers', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const ch = await openChannel(conn)
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    const inboxes = []
    for (let i = 0; i < 3; i++) inboxes.push((await consume(await openChannel(conn), q, { noAck: true })).inbox)
    sendAll(
      ch,
      q,
      Array.from({ length: 9 }, (_, i) => String(i)),
    )
    for (const inbox of inboxes) await inbox.waitFor(3)
    assert.deepEqual(
      inboxes.map((i) => i.bodies()),
      [
        ['0', '3', '6'],
        ['1', '4', '7'],
        ['2', '5', '8'],
      ],
    )
    await conn.close()
  })

  test('consumer priorities: higher x-priority consumers are served first', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const q = scope.queue()
    const low = await openChannel(conn)
    await low.assertQueue(q, { durable: false })
    const high = await openChannel(conn)
    await high.prefetch(2)
    const lowConsumer = await consume(low, q)
    const highConsumer = await consume(high, q, { priority: 10 })
    sendAll(low, q, ['0', '1', '2', '3', '4'])
    await highConsumer.inbox.waitFor(2)
    await lowConsumer.inbox.waitFor(3)
    // the high-priority consumer gets messages while it has prefetch capacity, the rest go to the other
    assert.deepEqual(highConsumer.inbox.bodies(), ['0', '1'])
    assert.deepEqual(lowConsumer.inbox.bodies(), ['2', '3', '4'])
    await conn.close()
  })

  test('no-local is ignored: a connection receives its own messages', TEST_TIMEOUT, async () => {
    // RabbitMQ does not implement basic.consume no-local
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    const { inbox } = await consume(ch, q, { noLocal: true, noAck: true })
    ch.sendToQueue(q, Buffer.from('mine'))
    await inbox.waitFor(1)
    assert.deepEqual(inbox.bodies(), ['mine'])
    await conn.close()
  })

  test('delivery tags are per channel and shared by consumers and basic.get', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const ch = await openChannel(conn)
    const other = await openChannel(conn)
    const q1 = scope.queue()
    const q2 = scope.queue()
    await ch.assertQueue(q1, { durable: false })
    await ch.assertQueue(q2, { durable: false })
    sendAll(ch, q1, ['a', 'b'])
    sendAll(ch, q2, ['c', 'd'])
    await waitForMessageCount(ch, q2, 2)
    const got = await ch.get(q2)
    assert.ok(got)
    assert.equal(got.fields.deliveryTag, 1)
    const c1 = await consume(ch, q1)
    const [a, b] = await c1.inbox.waitFor(2)
    assert.deepEqual([a!.fields.deliveryTag, b!.fields.deliveryTag], [2, 3])
    // a different channel counts from 1
    const c2 = await consume(other, q2)
    const [d] = await c2.inbox.waitFor(1)
    assert.equal(d!.fields.deliveryTag, 1)
    ch.ack(b!, true)
    other.ack(d!)
    await roundTrip(ch)
    await roundTrip(other)
    await conn.close()
  })

  test('the server cancels consumers of a deleted queue; others are unaffected', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const doomed = scope.queue('doomed')
    const kept = scope.queue('kept')
    await ch.assertQueue(doomed, { durable: false })
    await ch.assertQueue(kept, { durable: false })
    const c = await openChannel(conn)
    const a = await consume(c, doomed, { noAck: true })
    const b = await consume(c, kept, { noAck: true })
    await ch.deleteQueue(doomed)
    await a.inbox.waitForCancel()
    assert.equal(b.inbox.cancelled, false)
    ch.sendToQueue(kept, Buffer.from('still here'))
    await b.inbox.waitFor(1)
    // the server-cancelled tag is free again on that channel
    await c.consume(kept, () => {}, { consumerTag: a.consumerTag, noAck: true })
    assert.equal((await ch.checkQueue(kept)).consumerCount, 2)
    await conn.close()
  })

  test('a consumer receives messages already in the queue, in order, then new ones', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    const bodies = Array.from({ length: 100 }, (_, i) => `m${i}`)
    sendAll(ch, q, bodies.slice(0, 50))
    await waitForMessageCount(ch, q, 50)
    const { inbox } = await consume(ch, q, { noAck: true })
    sendAll(ch, q, bodies.slice(50))
    await inbox.waitFor(100)
    assert.deepEqual(inbox.bodies(), bodies)
    await conn.close()
  })
})
