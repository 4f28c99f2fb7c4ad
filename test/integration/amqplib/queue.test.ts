// queue class: declare (server-named, passive, durable, exclusive, auto-delete, equivalence checks), bind,
// unbind, purge and delete, and the errors for each.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startBroker, type TestBroker } from '../../helpers/broker.js'
import {
  SERVER_NAMED_QUEUE,
  Scope,
  TEST_TIMEOUT,
  consume,
  drain,
  eventually,
  expectChannelError,
  openChannel,
  roundTrip,
  sendAll,
  waitForMessageCount,
} from '../../helpers/amqplib.js'

describe('amqplib: queue', () => {
  let broker: TestBroker
  let scope: Scope

  before(async () => {
    broker = await startBroker()
    scope = new Scope(broker.url, 'queue')
  })
  after(async () => {
    await scope.cleanup()
    await broker.stop()
  })

  const noQueue = (q: string) => ({ code: 404, text: `NOT_FOUND - no queue '${q}' in vhost '/'` })
  const locked = (q: string) => ({
    code: 405,
    text:
      `RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '${q}' in vhost '/'. It could be ` +
      'originally declared on another connection or the exclusive property value does not match that of the ' +
      'original declaration.',
  })

  test('server-named queues: amq.gen- and 22 url-safe base64 characters, all distinct', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const names = new Set<string>()
    for (let i = 0; i < 20; i++) {
      const ok = await ch.assertQueue('', { exclusive: true })
      scope.trackQueue(ok.queue)
      assert.match(ok.queue, SERVER_NAMED_QUEUE)
      assert.equal(ok.messageCount, 0)
      assert.equal(ok.consumerCount, 0)
      names.add(ok.queue)
    }
    assert.equal(names.size, 20)
    // a non-exclusive server-named queue is allowed too
    const shared = await ch.assertQueue('', { durable: false })
    scope.trackQueue(shared.queue)
    assert.match(shared.queue, SERVER_NAMED_QUEUE)
    await ch.deleteQueue(shared.queue)
    await conn.close()
  })

  test('declare-ok reports ready messages and consumers', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    assert.deepEqual(await ch.assertQueue(q, { durable: false }), { queue: q, messageCount: 0, consumerCount: 0 })
    sendAll(ch, q, ['1', '2', '3'])
    await waitForMessageCount(ch, q, 3)
    assert.deepEqual(await ch.assertQueue(q, { durable: false }), { queue: q, messageCount: 3, consumerCount: 0 })
    // one message goes to the consumer unacked: it is no longer counted
    const c = await openChannel(conn)
    await c.prefetch(1)
    const { inbox } = await consume(c, q)
    await inbox.waitFor(1)
    assert.deepEqual(await ch.checkQueue(q), { queue: q, messageCount: 2, consumerCount: 1 })
    await ch.deleteQueue(q)
    await conn.close()
  })

  test('passive declare of a missing queue: 404 channel error', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue('missing')
    await expectChannelError(ch, ch.checkQueue(q), { ...noQueue(q), classId: 50, methodId: 10 })
    await conn.close()
  })

  test('durable queue', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    assert.equal((await ch.assertQueue(q, { durable: true })).queue, q)
    await ch.checkQueue(q)
    await ch.deleteQueue(q)
    await conn.close()
  })

  test("queue names starting with 'amq.' are reserved", TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const q = scope.name('reserved').replace(/^warren-test\./, 'amq.')
    let ch = await openChannel(conn)
    await expectChannelError(ch, ch.assertQueue(q, { durable: false }), {
      code: 403,
      text: `ACCESS_REFUSED - queue name '${q}' contains reserved prefix 'amq.*'`,
      classId: 50,
      methodId: 10,
    })
    // a passive declare is only a lookup
    ch = await openChannel(conn)
    await expectChannelError(ch, ch.checkQueue(q), noQueue(q))
    await conn.close()
  })

  const inequivalent = (q: string, arg: string, received: string, current: string) => ({
    code: 406,
    text: `PRECONDITION_FAILED - inequivalent arg '${arg}' for queue '${q}' in vhost '/': received ${received} but current is ${current}`,
    classId: 50,
    methodId: 10,
  })

  test('redeclare with a different durable or auto_delete: 406', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const q = scope.queue()
    let ch = await openChannel(conn)
    await ch.assertQueue(q, { durable: false })
    await expectChannelError(ch, ch.assertQueue(q, { durable: true }), inequivalent(q, 'durable', "'true'", "'false'"))
    ch = await openChannel(conn)
    await expectChannelError(
      ch,
      ch.assertQueue(q, { durable: false, autoDelete: true }),
      inequivalent(q, 'auto_delete', "'true'", "'false'"),
    )
    await conn.close()
  })

  test('redeclare with an exclusive flag that differs: 405 RESOURCE_LOCKED', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    await expectChannelError(ch, ch.assertQueue(q, { durable: false, exclusive: true }), {
      ...locked(q),
      classId: 50,
      methodId: 10,
    })
    await conn.close()
  })

  test('redeclare with different arguments: 406 with the types in the text', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const q = scope.queue()
    const other = scope.queue()
    let ch = await openChannel(conn)
    await ch.assertQueue(q, { durable: false, messageTtl: 1000 })
    // the same value with another integer type is equivalent (amqplib encodes 1000 as a short)
    await ch.assertQueue(q, {
      durable: false,
      arguments: { 'x-message-ttl': { '!': 'long', value: 1000 } },
    })
    await expectChannelError(
      ch,
      ch.assertQueue(q, { durable: false, messageTtl: 2000 }),
      inequivalent(q, 'x-message-ttl', "'2000'", "'1000'"),
    )
    ch = await openChannel(conn)
    await expectChannelError(
      ch,
      ch.assertQueue(q, { durable: false }),
      inequivalent(q, 'x-message-ttl', 'none', "the value '1000' of type 'short'"),
    )
    ch = await openChannel(conn)
    await ch.assertQueue(other, { durable: false })
    await expectChannelError(
      ch,
      ch.assertQueue(other, { durable: false, deadLetterExchange: 'dlx' }),
      inequivalent(other, 'x-dead-letter-exchange', "the value 'dlx' of type 'longstr'", 'none'),
    )
    await conn.close()
  })

  test(
    'redeclare compares argument values as Erlang terms (rabbit_misc:assert_args_equivalence)',
    TEST_TIMEOUT,
    async () => {
      const conn = await scope.connect()
      const q = scope.queue()
      const other = scope.queue()
      let ch = await openChannel(conn)
      await ch.assertQueue(q, { durable: false, messageTtl: 1000 })
      // an integer and a timestamp of the same value are the same term; so are a longstr and a binary
      await ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': { '!': 'timestamp', value: 1000 } } })
      await ch.assertQueue(other, { durable: false, deadLetterExchange: 'dlx' })
      await ch.assertQueue(other, { durable: false, arguments: { 'x-dead-letter-exchange': Buffer.from('dlx') } })
      // an integer is not a float of the same value; RabbitMQ prints the float as Erlang does
      await expectChannelError(
        ch,
        ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': { '!': 'double', value: 1000 } } }),
        inequivalent(q, 'x-message-ttl', "'1.0e3'", "'1000'"),
      )
      ch = await openChannel(conn)
      await expectChannelError(
        ch,
        ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': { '!': 'float', value: 1000 } } }),
        inequivalent(q, 'x-message-ttl', "'1.0e3'", "'1000'"),
      )
      await conn.close()
    },
  )

  test('arguments RabbitMQ does not know are not compared on redeclare', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false, arguments: { 'x-unknown': 1, custom: 'a' } })
    await ch.assertQueue(q, { durable: false, arguments: { 'x-unknown': 2, custom: 'b' } })
    await ch.assertQueue(q, { durable: false })
    await ch.deleteQueue(q)
    await conn.close()
  })

  test('an exclusive queue is locked to its connection', TEST_TIMEOUT, async () => {
    const owner = await scope.open()
    const q = scope.queue('exclusive')
    await owner.ch.assertQueue(q, { exclusive: true, durable: false })
    const other = await scope.connect()
    const attempts: Array<[string, (ch: Awaited<ReturnType<typeof openChannel>>) => Promise<unknown>, number, number]> =
      [
        ['declare', (ch) => ch.assertQueue(q, { exclusive: true, durable: false }), 50, 10],
        ['passive declare', (ch) => ch.checkQueue(q), 50, 10],
        ['bind', (ch) => ch.bindQueue(q, 'amq.direct', 'k'), 50, 20],
        ['purge', (ch) => ch.purgeQueue(q), 50, 30],
        ['delete', (ch) => ch.deleteQueue(q), 50, 40],
        ['consume', (ch) => ch.consume(q, () => {}), 60, 20],
        ['get', (ch) => ch.get(q), 60, 70],
      ]
    for (const [what, op, classId, methodId] of attempts) {
      const ch = await openChannel(other)
      await expectChannelError(ch, op(ch), { ...locked(q), classId, methodId }).catch((err: Error) => {
        throw new Error(`${what}: ${err.message}`)
      })
    }
    // publishing to it through the default exchange is allowed
    const pub = await openChannel(other)
    pub.sendToQueue(q, Buffer.from('from another connection'))
    await roundTrip(pub)
    await waitForMessageCount(owner.ch, q, 1)
    // another channel on the owning connection may use it
    const sibling = await openChannel(owner.conn)
    assert.deepEqual(await drain(sibling, q), ['from another connection'])
    await owner.conn.close()
    await other.close()
  })

  test('an exclusive queue is deleted when its connection closes', TEST_TIMEOUT, async () => {
    const owner = await scope.open()
    const q = scope.queue('exclusive')
    await owner.ch.assertQueue(q, { exclusive: true, durable: true })
    const named = await owner.ch.assertQueue('', { exclusive: true })
    scope.trackQueue(named.queue)
    await owner.conn.close()
    const conn = await scope.connect()
    for (const name of [q, named.queue]) {
      const ch = await openChannel(conn)
      await expectChannelError(ch, ch.checkQueue(name), noQueue(name))
    }
    await conn.close()
  })

  test('an auto-delete queue goes when its last consumer is cancelled', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue('auto')
    await ch.assertQueue(q, { durable: false, autoDelete: true })
    // no consumer yet: it stays
    await roundTrip(ch)
    await ch.checkQueue(q)
    const a = await consume(ch, q)
    const b = await consume(ch, q)
    await ch.cancel(a.consumerTag)
    assert.equal((await ch.checkQueue(q)).consumerCount, 1)
    await ch.cancel(b.consumerTag)
    await expectChannelError(ch, ch.checkQueue(q), noQueue(q))
    await conn.close()
  })

  test('an auto-delete queue goes when the channel of its last consumer closes', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue('auto')
    await ch.assertQueue(q, { durable: false, autoDelete: true })
    const c = await openChannel(conn)
    await consume(c, q)
    await c.close()
    await expectChannelError(ch, ch.checkQueue(q), noQueue(q))
    await conn.close()
  })

  test('bind and unbind a queue', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    const x = scope.exchange()
    await ch.assertQueue(q, { durable: false })
    await ch.assertExchange(x, 'direct', { durable: false })
    assert.deepEqual(await ch.bindQueue(q, x, 'k'), {})
    assert.deepEqual(await ch.bindQueue(q, x, 'k'), {}, 'binding twice is idempotent')
    ch.publish(x, 'k', Buffer.from('bound'))
    await waitForMessageCount(ch, q, 1)
    assert.deepEqual(await ch.unbindQueue(q, x, 'k'), {})
    ch.publish(x, 'k', Buffer.from('unbound'))
    await roundTrip(ch)
    assert.deepEqual(await drain(ch, q), ['bound'])
    // unbinding what is not bound succeeds (RabbitMQ 3.x), even for a missing queue or exchange
    assert.deepEqual(await ch.unbindQueue(q, x, 'never'), {})
    assert.deepEqual(await ch.unbindQueue(scope.name('missing'), x, 'k'), {})
    assert.deepEqual(await ch.unbindQueue(q, scope.name('missing'), 'k'), {})
    await conn.close()
  })

  test('queue.bind errors: missing queue or exchange 404, default exchange 403', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const q = scope.queue()
    const missingQ = scope.name('missing-q')
    const missingX = scope.name('missing-x')
    let ch = await openChannel(conn)
    await ch.assertQueue(q, { durable: false })
    await expectChannelError(ch, ch.bindQueue(missingQ, 'amq.direct', 'k'), {
      ...noQueue(missingQ),
      classId: 50,
      methodId: 20,
    })
    ch = await openChannel(conn)
    await expectChannelError(ch, ch.bindQueue(q, missingX, 'k'), {
      code: 404,
      text: `NOT_FOUND - no exchange '${missingX}' in vhost '/'`,
    })
    // both missing: the exchange is reported
    ch = await openChannel(conn)
    await expectChannelError(ch, ch.bindQueue(missingQ, missingX, 'k'), {
      code: 404,
      text: `NOT_FOUND - no exchange '${missingX}' in vhost '/'`,
    })
    const refused = { code: 403, text: 'ACCESS_REFUSED - operation not permitted on the default exchange' }
    ch = await openChannel(conn)
    await expectChannelError(ch, ch.bindQueue(q, '', q), { ...refused, classId: 50, methodId: 20 })
    ch = await openChannel(conn)
    await expectChannelError(ch, ch.unbindQueue(q, '', q), { ...refused, classId: 50, methodId: 50 })
    await conn.close()
  })

  test('purge returns the number of ready messages and leaves unacked ones', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    sendAll(ch, q, ['1', '2', '3', '4'])
    await waitForMessageCount(ch, q, 4)
    const first = await ch.get(q)
    assert.ok(first)
    assert.deepEqual(await ch.purgeQueue(q), { messageCount: 3 })
    assert.deepEqual(await ch.purgeQueue(q), { messageCount: 0 })
    // the unacked message survives the purge and comes back when rejected
    ch.reject(first, true)
    await waitForMessageCount(ch, q, 1)
    assert.deepEqual(await drain(ch, q), ['1'])
    await conn.close()
  })

  test('purge of a missing queue: 404', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue('missing')
    await expectChannelError(ch, ch.purgeQueue(q), { ...noQueue(q), classId: 50, methodId: 30 })
    await conn.close()
  })

  test('delete returns the number of ready messages', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    sendAll(ch, q, ['1', '2', '3'])
    await waitForMessageCount(ch, q, 3)
    assert.deepEqual(await ch.deleteQueue(q), { messageCount: 3 })
    await expectChannelError(ch, ch.checkQueue(q), noQueue(q))
    await conn.close()
  })

  test('deleting a missing queue succeeds with message count 0', TEST_TIMEOUT, async () => {
    // RabbitMQ 3.x: queue.delete is idempotent (the 0-9-1 spec says 404)
    const { conn, ch } = await scope.open()
    assert.deepEqual(await ch.deleteQueue(scope.name('never-declared')), { messageCount: 0 })
    await roundTrip(ch)
    await conn.close()
  })

  test('delete if-unused: 406 while there is a consumer', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    const c = await openChannel(conn)
    const { consumerTag } = await consume(c, q)
    await expectChannelError(ch, ch.deleteQueue(q, { ifUnused: true }), {
      code: 406,
      text: `PRECONDITION_FAILED - queue '${q}' in vhost '/' in use`,
      classId: 50,
      methodId: 40,
    })
    await c.cancel(consumerTag)
    assert.deepEqual(await c.deleteQueue(q, { ifUnused: true }), { messageCount: 0 })
    await conn.close()
  })

  test('delete if-empty: 406 while messages are ready', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    ch.sendToQueue(q, Buffer.from('x'))
    await waitForMessageCount(ch, q, 1)
    await expectChannelError(ch, ch.deleteQueue(q, { ifEmpty: true }), {
      code: 406,
      text: `PRECONDITION_FAILED - queue '${q}' in vhost '/' not empty`,
      classId: 50,
      methodId: 40,
    })
    const c = await openChannel(conn)
    assert.deepEqual(await c.purgeQueue(q), { messageCount: 1 })
    assert.deepEqual(await c.deleteQueue(q, { ifEmpty: true }), { messageCount: 0 })
    await conn.close()
  })

  test('delete if-empty only looks at ready messages, not unacknowledged ones', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    ch.sendToQueue(q, Buffer.from('x'))
    await waitForMessageCount(ch, q, 1)
    const m = await ch.get(q)
    assert.ok(m)
    assert.deepEqual(await ch.deleteQueue(q, { ifEmpty: true }), { messageCount: 0 })
    await conn.close()
  })

  test('deleting a queue cancels its consumers (consumer_cancel_notify)', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    const c = await openChannel(conn)
    const { inbox } = await consume(c, q)
    await ch.deleteQueue(q)
    await inbox.waitForCancel()
    await roundTrip(c)
    await conn.close()
  })

  test('queue methods with an empty name use the channel’s last declared queue', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    let ch = await openChannel(conn)
    const x = scope.exchange()
    await ch.assertExchange(x, 'direct', { durable: false })
    const { queue } = await ch.assertQueue('', { exclusive: true })
    scope.trackQueue(queue)
    await ch.bindQueue('', x, 'k')
    ch.publish(x, 'k', Buffer.from('a'))
    ch.publish(x, 'k', Buffer.from('b'))
    await waitForMessageCount(ch, queue, 2)
    const m = await ch.get('')
    assert.ok(m)
    assert.equal(m.content.toString(), 'a')
    assert.equal(m.fields.messageCount, 1)
    assert.deepEqual(await ch.purgeQueue(''), { messageCount: 1 })
    const { consumerTag } = await ch.consume('', () => {})
    assert.equal((await ch.checkQueue(queue)).consumerCount, 1)
    await ch.cancel(consumerTag)
    await ch.unbindQueue('', x, 'k')
    assert.deepEqual(await ch.deleteQueue(''), { messageCount: 0 })
    // but a passive declare does not default the name, and without a declared queue there is nothing to use
    ch = await openChannel(conn)
    await expectChannelError(ch, ch.checkQueue(''), noQueue(''))
    const noPrevious = { code: 404, text: 'NOT_FOUND - no previously declared queue' }
    for (const op of [
      (c: typeof ch) => c.bindQueue('', x, 'k'),
      (c: typeof ch) => c.get(''),
      (c: typeof ch) => c.consume('', () => {}),
      (c: typeof ch) => c.purgeQueue(''),
      (c: typeof ch) => c.deleteQueue(''),
    ]) {
      ch = await openChannel(conn)
      await expectChannelError(ch, op(ch), noPrevious)
    }
    await conn.close()
  })

  test('queue.declare-ok message count follows publishes promptly', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    sendAll(
      ch,
      q,
      Array.from({ length: 50 }, (_, i) => String(i)),
    )
    await eventually(async () => (await ch.checkQueue(q)).messageCount === 50, '50 messages')
    await ch.deleteQueue(q)
    await conn.close()
  })
})
