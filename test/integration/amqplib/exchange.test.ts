// exchange class: declare (all types, passive, equivalence checks, reserved names), delete (if-unused),
// exchange-to-exchange bindings, internal, auto-delete and alternate exchanges.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startBroker, type TestBroker } from '../../helpers/broker.js'
import {
  Scope,
  TEST_TIMEOUT,
  drain,
  expectChannelError,
  expectConnectionError,
  openChannel,
  roundTrip,
  waitForMessageCount,
} from '../../helpers/amqplib.js'

describe('amqplib: exchange', () => {
  let broker: TestBroker
  let scope: Scope

  before(async () => {
    broker = await startBroker()
    scope = new Scope(broker.url, 'exchange')
  })
  after(async () => {
    await scope.cleanup()
    await broker.stop()
  })

  const notFound = (x: string) => ({ code: 404, text: `NOT_FOUND - no exchange '${x}' in vhost '/'` })

  for (const type of ['direct', 'fanout', 'topic', 'headers']) {
    test(`declare, redeclare, check and delete a ${type} exchange`, TEST_TIMEOUT, async () => {
      const { conn, ch } = await scope.open()
      const x = scope.exchange(type)
      assert.deepEqual(await ch.assertExchange(x, type, { durable: false }), { exchange: x })
      assert.deepEqual(await ch.assertExchange(x, type, { durable: false }), { exchange: x }, 'idempotent')
      assert.deepEqual(await ch.checkExchange(x), {})
      assert.deepEqual(await ch.deleteExchange(x), {})
      await expectChannelError(ch, ch.checkExchange(x), notFound(x))
      await conn.close()
    })
  }

  test('durable exchange', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const x = scope.exchange()
    await ch.assertExchange(x, 'topic', { durable: true })
    await ch.checkExchange(x)
    await ch.deleteExchange(x)
    await conn.close()
  })

  test('the predeclared exchanges exist', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    for (const x of ['amq.direct', 'amq.fanout', 'amq.topic', 'amq.headers', 'amq.match']) {
      await ch.checkExchange(x)
    }
    // the default exchange has no name: "amq.default" is only what the management UI shows
    await expectChannelError(ch, ch.checkExchange('amq.default'), notFound('amq.default'))
    await conn.close()
  })

  test('passive declare of a missing exchange: 404 channel error', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const x = scope.exchange('missing')
    await expectChannelError(ch, ch.checkExchange(x), { ...notFound(x), classId: 40, methodId: 10 })
    await roundTrip(await openChannel(conn))
    await conn.close()
  })

  test('passive declare ignores type and flags of an existing exchange', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const x = scope.exchange()
    await ch.assertExchange(x, 'fanout', { durable: false, autoDelete: false })
    // amqplib's checkExchange sends type '' and durable=true
    await ch.checkExchange(x)
    await ch.deleteExchange(x)
    await conn.close()
  })

  const inequivalent = (x: string, arg: string, received: string, current: string) => ({
    code: 406,
    text: `PRECONDITION_FAILED - inequivalent arg '${arg}' for exchange '${x}' in vhost '/': received ${received} but current is ${current}`,
    classId: 40,
    methodId: 10,
  })

  test('redeclare with a different type: 406 PRECONDITION_FAILED', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const x = scope.exchange()
    await ch.assertExchange(x, 'direct', { durable: false })
    await expectChannelError(
      ch,
      ch.assertExchange(x, 'fanout', { durable: false }),
      inequivalent(x, 'type', "'fanout'", "'direct'"),
    )
    await conn.close()
  })

  test('redeclare with different durable / auto_delete / internal: 406', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const x = scope.exchange()
    let ch = await openChannel(conn)
    await ch.assertExchange(x, 'direct', { durable: false })
    const cases: Array<[object, string, string, string]> = [
      [{ durable: true }, 'durable', "'true'", "'false'"],
      [{ durable: false, autoDelete: true }, 'auto_delete', "'true'", "'false'"],
      [{ durable: false, internal: true }, 'internal', "'true'", "'false'"],
    ]
    for (const [options, arg, received, current] of cases) {
      ch = await openChannel(conn)
      await expectChannelError(ch, ch.assertExchange(x, 'direct', options), inequivalent(x, arg, received, current))
    }
    await conn.close()
  })

  test('redeclare with different arguments: 406', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const x = scope.exchange()
    await ch.assertExchange(x, 'direct', { durable: false })
    await expectChannelError(
      ch,
      ch.assertExchange(x, 'direct', { durable: false, alternateExchange: 'ae' }),
      inequivalent(x, 'alternate-exchange', "the value 'ae' of type 'longstr'", 'none'),
    )
    await conn.close()
  })

  test('an unknown exchange type is a 503 COMMAND_INVALID connection error', TEST_TIMEOUT, async () => {
    // RabbitMQ says "invalid exchange type" instead when the name happens to be an existing Erlang atom
    // (e.g. 'foo'); for names that are not, which is what Warren should always assume, it says "unknown".
    const { conn, ch } = await scope.open()
    const x = scope.exchange()
    await expectConnectionError(conn, ch.assertExchange(x, 'no-such-type', { durable: false }), {
      code: 503,
      text: "COMMAND_INVALID - unknown exchange type 'no-such-type'",
    })
  })

  test("declaring a new exchange named 'amq.*' is refused with 403", TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const x = scope.name('amq.reserved').replace(/^warren-test\./, 'amq.')
    await expectChannelError(ch, ch.assertExchange(x, 'direct', { durable: false }), {
      code: 403,
      text: `ACCESS_REFUSED - exchange name '${x}' contains reserved prefix 'amq.*'`,
      classId: 40,
      methodId: 10,
    })
    await conn.close()
  })

  test("redeclaring an existing 'amq.*' exchange with the same properties succeeds", TEST_TIMEOUT, async () => {
    // RabbitMQ looks the exchange up before checking the reserved prefix
    const { conn, ch } = await scope.open()
    assert.deepEqual(await ch.assertExchange('amq.direct', 'direct', { durable: true }), { exchange: 'amq.direct' })
    await expectChannelError(
      ch,
      ch.assertExchange('amq.direct', 'fanout', { durable: true }),
      inequivalent('amq.direct', 'type', "'fanout'", "'direct'"),
    )
    await conn.close()
  })

  test("deleting an 'amq.*' exchange is refused with 403", TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    // a name that does not exist: the check is on the name alone
    const x = scope.name('system').replace(/^warren-test\./, 'amq.')
    await expectChannelError(ch, ch.deleteExchange(x), {
      code: 403,
      text: `ACCESS_REFUSED - deletion of system exchange '${x}' in vhost '/' not allowed`,
      classId: 40,
      methodId: 20,
    })
    await conn.close()
  })

  test('the default exchange cannot be declared, checked or deleted', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const refused = { code: 403, text: 'ACCESS_REFUSED - operation not permitted on the default exchange' }
    let ch = await openChannel(conn)
    await expectChannelError(ch, ch.assertExchange('', 'direct'), { ...refused, classId: 40, methodId: 10 })
    ch = await openChannel(conn)
    await expectChannelError(ch, ch.checkExchange(''), { ...refused, classId: 40, methodId: 10 })
    ch = await openChannel(conn)
    await expectChannelError(ch, ch.deleteExchange(''), { ...refused, classId: 40, methodId: 20 })
    await conn.close()
  })

  test('deleting a missing exchange succeeds', TEST_TIMEOUT, async () => {
    // RabbitMQ 3.x: exchange.delete is idempotent (the 0-9-1 spec says 404)
    const { conn, ch } = await scope.open()
    assert.deepEqual(await ch.deleteExchange(scope.name('never-declared')), {})
    await roundTrip(ch)
    await conn.close()
  })

  test('deleting an exchange removes its bindings', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const x = scope.exchange()
    const q = scope.queue()
    await ch.assertExchange(x, 'fanout', { durable: false })
    await ch.assertQueue(q, { durable: false })
    await ch.bindQueue(q, x, '')
    await ch.deleteExchange(x)
    await ch.assertExchange(x, 'fanout', { durable: false })
    ch.publish(x, '', Buffer.from('after re-create'))
    await roundTrip(ch)
    assert.equal((await ch.checkQueue(q)).messageCount, 0, 'the old binding is gone')
    await ch.deleteExchange(x)
    await ch.deleteQueue(q)
    await conn.close()
  })

  test('delete if-unused: 406 while a queue is bound, success once unbound', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const ch = await openChannel(conn)
    const x = scope.exchange()
    const q = scope.queue()
    await ch.assertExchange(x, 'direct', { durable: false })
    await ch.assertQueue(q, { durable: false })
    await ch.bindQueue(q, x, 'k')
    await expectChannelError(ch, ch.deleteExchange(x, { ifUnused: true }), {
      code: 406,
      text: `PRECONDITION_FAILED - exchange '${x}' in vhost '/' in use`,
      classId: 40,
      methodId: 20,
    })
    const ch2 = await openChannel(conn)
    await ch2.checkExchange(x)
    await ch2.unbindQueue(q, x, 'k')
    assert.deepEqual(await ch2.deleteExchange(x, { ifUnused: true }), {})
    await ch2.deleteQueue(q)
    await conn.close()
  })

  test('delete if-unused only counts bindings where the exchange is the source', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const src = scope.exchange('src')
    const dest = scope.exchange('dest')
    await ch.assertExchange(src, 'direct', { durable: false })
    await ch.assertExchange(dest, 'direct', { durable: false })
    await ch.bindExchange(dest, src, 'k')
    // dest is only a destination: not "in use"
    await ch.deleteExchange(dest, { ifUnused: true })
    await expectChannelError(ch, ch.checkExchange(dest), notFound(dest))
    const ch2 = await openChannel(conn)
    await ch2.deleteExchange(src, { ifUnused: true })
    await conn.close()
  })

  test('exchange-to-exchange bindings route through, and unbind stops it', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const src = scope.exchange('src')
    const mid = scope.exchange('mid')
    const q = scope.queue()
    await ch.assertExchange(src, 'topic', { durable: false })
    await ch.assertExchange(mid, 'fanout', { durable: false })
    await ch.assertQueue(q, { durable: false })
    assert.deepEqual(await ch.bindExchange(mid, src, 'a.*'), {})
    await ch.bindQueue(q, mid, 'ignored-by-fanout')
    ch.publish(src, 'a.b', Buffer.from('routed'))
    ch.publish(src, 'x.y', Buffer.from('not routed'))
    await waitForMessageCount(ch, q, 1)
    const m = await ch.get(q, { noAck: true })
    assert.ok(m)
    assert.equal(m.content.toString(), 'routed')
    // the delivery names the exchange the message was published to, and its original routing key
    assert.equal(m.fields.exchange, src)
    assert.equal(m.fields.routingKey, 'a.b')
    assert.deepEqual(await ch.unbindExchange(mid, src, 'a.*'), {})
    ch.publish(src, 'a.b', Buffer.from('after unbind'))
    await roundTrip(ch)
    assert.equal((await ch.checkQueue(q)).messageCount, 0)
    await conn.close()
  })

  test(
    'a message reaching a queue by several paths is delivered once, and cycles terminate',
    TEST_TIMEOUT,
    async () => {
      const { conn, ch } = await scope.open()
      const x1 = scope.exchange('x1')
      const x2 = scope.exchange('x2')
      const q = scope.queue()
      await ch.assertExchange(x1, 'fanout', { durable: false })
      await ch.assertExchange(x2, 'fanout', { durable: false })
      await ch.assertQueue(q, { durable: false })
      await ch.bindExchange(x2, x1, '')
      await ch.bindExchange(x1, x2, '') // a cycle
      await ch.bindQueue(q, x1, '')
      await ch.bindQueue(q, x2, '')
      ch.publish(x1, '', Buffer.from('once'))
      await waitForMessageCount(ch, q, 1)
      assert.deepEqual(await drain(ch, q), ['once'])
      await conn.close()
    },
  )

  test('exchange.bind with a missing source or destination: 404', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const x = scope.exchange()
    const missing = scope.name('missing')
    let ch = await openChannel(conn)
    await ch.assertExchange(x, 'direct', { durable: false })
    await expectChannelError(ch, ch.bindExchange(missing, x, 'k'), { ...notFound(missing), classId: 40, methodId: 30 })
    ch = await openChannel(conn)
    await expectChannelError(ch, ch.bindExchange(x, missing, 'k'), { ...notFound(missing), classId: 40, methodId: 30 })
    ch = await openChannel(conn)
    const refused = { code: 403, text: 'ACCESS_REFUSED - operation not permitted on the default exchange' }
    await expectChannelError(ch, ch.bindExchange('', x, 'k'), refused)
    ch = await openChannel(conn)
    await expectChannelError(ch, ch.bindExchange(x, '', 'k'), refused)
    await conn.close()
  })

  test('unbinding something that is not bound succeeds', TEST_TIMEOUT, async () => {
    // RabbitMQ 3.x: exchange.unbind and queue.unbind are idempotent, even when the exchange is missing
    const { conn, ch } = await scope.open()
    const x = scope.exchange()
    await ch.assertExchange(x, 'direct', { durable: false })
    assert.deepEqual(await ch.unbindExchange(x, 'amq.direct', 'never-bound'), {})
    assert.deepEqual(await ch.unbindExchange(scope.name('missing'), x, 'k'), {})
    await roundTrip(ch)
    await conn.close()
  })

  test('publishing to an internal exchange: 403 channel error; routing into it works', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const internal = scope.exchange('internal')
    const front = scope.exchange('front')
    const q = scope.queue()
    await ch.assertExchange(internal, 'fanout', { durable: false, internal: true })
    await ch.assertExchange(front, 'fanout', { durable: false })
    await ch.assertQueue(q, { durable: false })
    await ch.bindQueue(q, internal, '')
    await ch.bindExchange(internal, front, '')
    ch.publish(front, '', Buffer.from('via front'))
    await waitForMessageCount(ch, q, 1)
    await expectChannelError(ch, () => ch.publish(internal, '', Buffer.from('direct')), {
      code: 403,
      text: `ACCESS_REFUSED - cannot publish to internal exchange '${internal}' in vhost '/'`,
      classId: 60,
      methodId: 40,
    })
    await conn.close()
  })

  test('auto-delete exchange: deleted when its last binding is removed', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const ch = await openChannel(conn)
    const x = scope.exchange('auto')
    const q = scope.queue()
    await ch.assertExchange(x, 'fanout', { durable: false, autoDelete: true })
    await ch.assertQueue(q, { durable: false })
    // never bound: it stays
    await ch.checkExchange(x)
    await ch.bindQueue(q, x, 'a')
    await ch.bindQueue(q, x, 'b')
    await ch.unbindQueue(q, x, 'a')
    await ch.checkExchange(x)
    await ch.unbindQueue(q, x, 'b')
    await expectChannelError(ch, ch.checkExchange(x), notFound(x))
    await conn.close()
  })

  test('auto-delete exchange: deleted when its only bound queue is deleted', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const x = scope.exchange('auto')
    const q = scope.queue()
    await ch.assertExchange(x, 'direct', { durable: false, autoDelete: true })
    await ch.assertQueue(q, { durable: false })
    await ch.bindQueue(q, x, 'k')
    await ch.deleteQueue(q)
    await expectChannelError(ch, ch.checkExchange(x), notFound(x))
    await conn.close()
  })

  test('auto-delete exchange: exchange-to-exchange bindings count too', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const x = scope.exchange('auto')
    const dest = scope.exchange('dest')
    await ch.assertExchange(x, 'fanout', { durable: false, autoDelete: true })
    await ch.assertExchange(dest, 'fanout', { durable: false })
    await ch.bindExchange(dest, x, '')
    await ch.unbindExchange(dest, x, '')
    await expectChannelError(ch, ch.checkExchange(x), notFound(x))
    await conn.close()
  })

  test('alternate-exchange receives what the exchange cannot route', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const ae = scope.exchange('ae')
    const x = scope.exchange('main')
    const routed = scope.queue('routed')
    const unrouted = scope.queue('unrouted')
    await ch.assertExchange(ae, 'fanout', { durable: false })
    await ch.assertExchange(x, 'direct', { durable: false, alternateExchange: ae })
    await ch.assertQueue(routed, { durable: false })
    await ch.assertQueue(unrouted, { durable: false })
    await ch.bindQueue(routed, x, 'known')
    await ch.bindQueue(unrouted, ae, '')
    const returns: string[] = []
    ch.on('return', (m: { content: Buffer }) => returns.push(m.content.toString()))
    ch.publish(x, 'known', Buffer.from('k'), { mandatory: true })
    ch.publish(x, 'unknown', Buffer.from('u'), { mandatory: true })
    await waitForMessageCount(ch, unrouted, 1)
    await waitForMessageCount(ch, routed, 1)
    assert.deepEqual(await drain(ch, routed), ['k'])
    const [m] = [await ch.get(unrouted, { noAck: true })]
    assert.ok(m)
    assert.equal(m.content.toString(), 'u')
    assert.equal(m.fields.exchange, x, 'the delivery names the original exchange')
    assert.equal(m.fields.routingKey, 'unknown')
    await roundTrip(ch)
    assert.deepEqual(returns, [], 'a message routed by the alternate exchange is not returned')
    await conn.close()
  })
})
