// What an error does to its surroundings: a channel error (soft) closes one channel and releases what it
// held; a connection error (hard) closes every channel of the connection and nothing else. The exact
// codes and texts of individual errors are asserted in the files for each class.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { IllegalOperationError } from 'amqplib'
import { startBroker, type TestBroker } from '../../helpers/broker.js'
import {
  Scope,
  TEST_TIMEOUT,
  consume,
  expectChannelError,
  expectConnectionError,
  openChannel,
  roundTrip,
  sendAll,
  waitForMessageCount,
  whenChannelClosed,
} from '../../helpers/amqplib.js'

describe('amqplib: channel and connection errors', () => {
  let broker: TestBroker
  let scope: Scope

  before(async () => {
    broker = await startBroker()
    scope = new Scope(broker.url, 'errors')
  })
  after(async () => {
    await scope.cleanup()
    await broker.stop()
  })

  test(
    'a channel error releases the channel’s consumers and unacked messages, not its siblings’',
    TEST_TIMEOUT,
    async () => {
      const conn = await scope.connect()
      const admin = await openChannel(conn)
      const q = scope.queue()
      await admin.assertQueue(q, { durable: false })
      const failing = await openChannel(conn)
      const sibling = await openChannel(conn)
      await failing.prefetch(1)
      await sibling.prefetch(1)
      sendAll(admin, q, ['1', '2', '3', '4'])
      const f = await consume(failing, q)
      const s = await consume(sibling, q)
      await f.inbox.waitFor(1)
      await s.inbox.waitFor(1)
      const missing = scope.name('missing')
      await expectChannelError(failing, failing.checkExchange(missing), {
        code: 404,
        text: `NOT_FOUND - no exchange '${missing}' in vhost '/'`,
      })
      // the failed channel's message is requeued and goes to the surviving consumer once it has capacity
      assert.equal((await admin.checkQueue(q)).consumerCount, 1)
      sibling.ack(s.inbox.messages[0]!)
      const [, second] = await s.inbox.waitFor(2)
      assert.equal(second!.content.toString(), f.inbox.messages[0]!.content.toString())
      assert.equal(second!.fields.redelivered, true)
      assert.throws(() => failing.publish('', q, Buffer.from('x')), IllegalOperationError)
      await roundTrip(sibling)
      await conn.close()
    },
  )

  test('RPCs queued behind a failing one are rejected', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const missing = scope.name('missing')
    // amqplib pipelines these: the second and third wait for the first reply
    const first = ch.checkQueue(missing)
    const second = ch.checkExchange('amq.direct')
    const third = ch.assertQueue('', { exclusive: true })
    await expectChannelError(ch, first, { code: 404, text: `NOT_FOUND - no queue '${missing}' in vhost '/'` })
    await assert.rejects(second)
    await assert.rejects(third)
    await roundTrip(await openChannel(conn))
    await conn.close()
  })

  test('the error names the method that caused it, also for asynchronous methods', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const q = scope.queue()
    let ch = await openChannel(conn)
    await ch.assertQueue(q, { durable: false })
    const missing = scope.name('missing')
    // basic.publish (60/40)
    await expectChannelError(ch, () => ch.publish(missing, 'k', Buffer.from('x')), {
      code: 404,
      text: `NOT_FOUND - no exchange '${missing}' in vhost '/'`,
      classId: 60,
      methodId: 40,
    })
    // basic.reject (60/90)
    ch = await openChannel(conn)
    await expectChannelError(ch, () => ch.reject({ fields: { deliveryTag: 5 } } as never), {
      code: 406,
      text: 'PRECONDITION_FAILED - unknown delivery tag 5',
      classId: 60,
      methodId: 90,
    })
    // queue.purge (50/30)
    ch = await openChannel(conn)
    await expectChannelError(ch, ch.purgeQueue(missing), {
      code: 404,
      text: `NOT_FOUND - no queue '${missing}' in vhost '/'`,
      classId: 50,
      methodId: 30,
    })
    await conn.close()
  })

  test('a connection error closes every channel and releases all the connection held', TEST_TIMEOUT, async () => {
    const bystander = await scope.open()
    const q = scope.queue()
    await bystander.ch.assertQueue(q, { durable: false })
    sendAll(bystander.ch, q, ['a', 'b'])
    await waitForMessageCount(bystander.ch, q, 2)

    const conn = await scope.connect()
    const holder = await openChannel(conn)
    const other = await openChannel(conn)
    const exclusive = scope.queue('exclusive')
    await holder.assertQueue(exclusive, { exclusive: true, durable: false })
    const got = await holder.get(q)
    assert.ok(got)
    const c = await consume(other, q)
    await c.inbox.waitFor(1)

    await expectConnectionError(conn, other.assertExchange(scope.name('x'), 'no-such-type', { durable: false }), {
      code: 503,
      text: "COMMAND_INVALID - unknown exchange type 'no-such-type'",
    })
    // channels close without an error of their own
    assert.equal(await whenChannelClosed(holder), undefined)
    assert.equal(await whenChannelClosed(other), undefined)
    assert.throws(() => holder.publish('', q, Buffer.from('x')), IllegalOperationError)
    // unacked messages of both channels are requeued, consumers and exclusive queues are gone
    await waitForMessageCount(bystander.ch, q, 2)
    assert.equal((await bystander.ch.checkQueue(q)).consumerCount, 0)
    await expectChannelError(bystander.ch, bystander.ch.checkQueue(exclusive), {
      code: 404,
      text: `NOT_FOUND - no queue '${exclusive}' in vhost '/'`,
    })
    // other connections are untouched
    await roundTrip(await openChannel(bystander.conn))
    await bystander.conn.close()
  })
})
