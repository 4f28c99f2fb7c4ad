// channel class: open, close, reuse of channel numbers, channel_max, channel.flow, and what happens to a
// channel (and its neighbours) after an error.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { IllegalOperationError } from 'amqplib'
import { startBroker, type TestBroker } from '../../helpers/broker.js'
import {
  Scope,
  TEST_TIMEOUT,
  channelFlow,
  consume,
  expectChannelError,
  expectConnectionError,
  openChannel,
  roundTrip,
  whenChannelClosed,
} from '../../helpers/amqplib.js'

describe('amqplib: channel', () => {
  let broker: TestBroker
  let scope: Scope

  before(async () => {
    broker = await startBroker()
    scope = new Scope(broker.url, 'channel')
  })
  after(async () => {
    await scope.cleanup()
    await broker.stop()
  })

  test('many channels on one connection work independently', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const channels = await Promise.all(Array.from({ length: 100 }, () => openChannel(conn)))
    const q = scope.queue()
    await channels[0]!.assertQueue(q, { durable: false })
    // every channel publishes one message; all of them land in the queue
    channels.forEach((ch, i) => ch.sendToQueue(q, Buffer.from(String(i))))
    await Promise.all(channels.map((ch) => roundTrip(ch)))
    assert.equal((await channels[0]!.checkQueue(q)).messageCount, 100)
    await Promise.all(channels.map((ch) => ch.close()))
    for (const ch of channels) assert.equal(await whenChannelClosed(ch), undefined)
    const ch = await openChannel(conn)
    await ch.deleteQueue(q)
    await conn.close()
  })

  test('a closed channel number can be opened again', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const first = await openChannel(conn)
    const number = (first as unknown as { ch: number }).ch
    await first.close()
    const second = await openChannel(conn)
    assert.equal((second as unknown as { ch: number }).ch, number, 'amqplib reuses the lowest free number')
    await roundTrip(second)
    await conn.close()
  })

  test('operations on a closed channel fail in the client', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    await ch.close()
    assert.throws(() => ch.publish('amq.direct', 'k', Buffer.from('x')), IllegalOperationError)
    assert.throws(() => ch.sendToQueue('q', Buffer.from('x')), IllegalOperationError)
    await assert.rejects(ch.checkExchange('amq.direct'), IllegalOperationError)
    await assert.rejects(ch.close(), IllegalOperationError)
    // the connection itself is unaffected
    await roundTrip(await openChannel(conn))
    await conn.close()
  })

  test('closing a channel cancels its consumers', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    const other = await openChannel(conn)
    await consume(other, q)
    assert.equal((await ch.checkQueue(q)).consumerCount, 1)
    await other.close()
    assert.equal((await ch.checkQueue(q)).consumerCount, 0)
    await ch.deleteQueue(q)
    await conn.close()
  })

  test('a channel error closes only that channel', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const bad = await openChannel(conn)
    const good = await openChannel(conn)
    const missing = scope.queue('missing')
    await expectChannelError(bad, bad.checkQueue(missing), {
      code: 404,
      text: `NOT_FOUND - no queue '${missing}' in vhost '/'`,
      classId: 50,
      methodId: 10,
    })
    await roundTrip(good)
    // a fresh channel (amqplib reuses the closed channel's number) works too
    await roundTrip(await openChannel(conn))
    await conn.close()
  })

  test('channel.flow active=true is acknowledged', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    assert.deepEqual(await channelFlow(ch, true), { active: true })
    await roundTrip(ch)
    await conn.close()
  })

  test('channel.flow active=false is a 540 NOT_IMPLEMENTED connection error', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    await expectConnectionError(conn, channelFlow(ch, false), { code: 540, text: 'NOT_IMPLEMENTED - active=false' })
  })

  test('opening more channels than the negotiated channel_max is a 530 connection error', TEST_TIMEOUT, async () => {
    const u = new URL(broker.url)
    u.searchParams.set('channelMax', '3')
    const conn = await scope.connect(undefined, u.toString())
    for (let i = 0; i < 3; i++) await openChannel(conn)
    // amqplib enforces the limit itself; lift it so the 4th channel.open reaches the server
    ;(conn.connection as unknown as { channelMax: number }).channelMax = 10
    await expectConnectionError(conn, openChannel(conn), {
      code: 530,
      text: 'NOT_ALLOWED - number of channels opened (3) has reached the negotiated channel_max (3)',
    })
  })
})
