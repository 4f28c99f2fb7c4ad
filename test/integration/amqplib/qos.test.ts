// basic.qos with RabbitMQ's semantics: global=false limits each consumer created afterwards, global=true
// limits the whole channel; both can apply at once. prefetch-size is not implemented.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import type { Channel } from 'amqplib'
import { startBroker, type TestBroker } from '../../helpers/broker.js'
import {
  Scope,
  TEST_TIMEOUT,
  basicQos,
  consume,
  expectConnectionError,
  openChannel,
  sendAll,
  waitForMessageCount,
} from '../../helpers/amqplib.js'

const range = (n: number) => Array.from({ length: n }, (_, i) => String(i))

describe('amqplib: qos', () => {
  let broker: TestBroker
  let scope: Scope

  before(async () => {
    broker = await startBroker()
    scope = new Scope(broker.url, 'qos')
  })
  after(async () => {
    await scope.cleanup()
    await broker.stop()
  })

  async function queueWith(ch: Channel, count: number): Promise<string> {
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    sendAll(ch, q, range(count))
    await waitForMessageCount(ch, q, count)
    return q
  }

  test('prefetch limits unacked deliveries; each ack lets one more through', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = await queueWith(ch, 10)
    assert.deepEqual(await ch.prefetch(3), {})
    const { inbox } = await consume(ch, q)
    await inbox.waitFor(3)
    await inbox.expectCount(3)
    ch.ack(inbox.messages[0]!)
    await inbox.waitFor(4)
    await inbox.expectCount(4)
    // reject and nack free capacity as well
    ch.reject(inbox.messages[1]!, false)
    ch.nack(inbox.messages[2]!, false, false)
    await inbox.waitFor(6)
    await inbox.expectCount(6)
    // multiple acks free several at once
    ch.ack(inbox.messages[5]!, true)
    await inbox.waitFor(9)
    await inbox.expectCount(9)
    assert.deepEqual(inbox.bodies(), range(9))
    await conn.close()
  })

  test('global=false applies to each consumer separately', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = await queueWith(ch, 10)
    await ch.prefetch(2, false)
    const a = await consume(ch, q)
    const b = await consume(ch, q)
    await a.inbox.waitFor(2)
    await b.inbox.waitFor(2)
    await a.inbox.expectCount(2)
    assert.equal(b.inbox.messages.length, 2)
    assert.equal((await ch.checkQueue(q)).messageCount, 6)
    await conn.close()
  })

  test('global=false only affects consumers created after it', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = await queueWith(ch, 10)
    await ch.prefetch(1)
    const a = await consume(ch, q)
    await a.inbox.waitFor(1)
    await ch.prefetch(4)
    const b = await consume(ch, q)
    await b.inbox.waitFor(4)
    await b.inbox.expectCount(4)
    assert.equal(a.inbox.messages.length, 1, 'the first consumer keeps its limit of 1')
    await conn.close()
  })

  test('global=true limits all consumers of the channel together', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = await queueWith(ch, 10)
    await ch.prefetch(3, true)
    const a = await consume(ch, q)
    const b = await consume(ch, q)
    await waitForMessageCount(ch, q, 7)
    await a.inbox.expectCount(a.inbox.messages.length)
    assert.equal(a.inbox.messages.length + b.inbox.messages.length, 3)
    const first = a.inbox.messages[0] ?? b.inbox.messages[0]!
    ch.ack(first)
    await waitForMessageCount(ch, q, 6)
    await a.inbox.expectCount(a.inbox.messages.length)
    assert.equal(a.inbox.messages.length + b.inbox.messages.length, 4)
    await conn.close()
  })

  test('a consumer limit followed by a channel limit: both apply', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = await queueWith(ch, 10)
    await ch.prefetch(2, false)
    await ch.prefetch(3, true)
    const a = await consume(ch, q)
    const b = await consume(ch, q)
    await waitForMessageCount(ch, q, 7)
    await a.inbox.expectCount(a.inbox.messages.length)
    assert.deepEqual([a.inbox.messages.length, b.inbox.messages.length], [2, 1])
    await conn.close()
  })

  test('basic.qos global=false lifts an earlier channel-wide limit', TEST_TIMEOUT, async () => {
    // RabbitMQ 3.10 (rabbit_channel): qos with global=false also calls rabbit_limiter:unlimit_prefetch, so
    // a per-consumer limit set AFTER a per-channel one removes the per-channel limit
    const { conn, ch } = await scope.open()
    const q = await queueWith(ch, 10)
    await ch.prefetch(3, true)
    await ch.prefetch(2, false)
    const a = await consume(ch, q)
    const b = await consume(ch, q)
    await waitForMessageCount(ch, q, 6)
    await a.inbox.expectCount(2)
    assert.equal(b.inbox.messages.length, 2)
    await conn.close()
  })

  test('prefetch 0 means no limit', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = await queueWith(ch, 20)
    await ch.prefetch(1)
    await ch.prefetch(0)
    const { inbox } = await consume(ch, q)
    await inbox.waitFor(20)
    await conn.close()
  })

  test('prefetch does not limit basic.get or no-ack consumers', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = await queueWith(ch, 10)
    await ch.prefetch(1, false)
    await ch.prefetch(1, true)
    for (let i = 0; i < 3; i++) assert.ok(await ch.get(q), 'basic.get ignores the limits')
    const { inbox } = await consume(ch, q, { noAck: true })
    await inbox.waitFor(7)
    await conn.close()
  })

  test('qos is per channel', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const limited = await openChannel(conn)
    const free = await openChannel(conn)
    const q = await queueWith(limited, 10)
    await limited.prefetch(1)
    const a = await consume(limited, q)
    await a.inbox.waitFor(1)
    const b = await consume(free, q)
    await b.inbox.waitFor(9)
    assert.equal(a.inbox.messages.length, 1)
    await conn.close()
  })

  test('prefetch_size is a 540 NOT_IMPLEMENTED connection error', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    await expectConnectionError(conn, basicQos(ch, 1, 0, false), {
      code: 540,
      text: 'NOT_IMPLEMENTED - prefetch_size!=0 (1)',
    })
  })
})
