// consumer_timeout: a delivery left unacknowledged longer than the timeout closes its channel with 406, as in
// RabbitMQ, and the message goes back to the queue for another consumer. Warren only: the brokers here run
// with a 300 ms timeout (RabbitMQ's is 30 minutes, set in its configuration file).
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startBroker, type TestBroker } from '../../helpers/broker.js'
import {
  Scope,
  TEST_TIMEOUT,
  consume,
  expectChannelError,
  isChannelClosed,
  openChannel,
  roundTrip,
  sleep,
  txCommit,
  txRollback,
  txSelect,
} from '../../helpers/amqplib.js'

const TIMEOUT_MS = 300

const timedOut = (channel: number, timeout = TIMEOUT_MS) => ({
  code: 406,
  text:
    `PRECONDITION_FAILED - delivery acknowledgement on channel ${channel} timed out. Timeout value used: ` +
    `${timeout} ms. This timeout value can be configured, see consumers doc guide to learn more`,
  classId: 0,
  methodId: 0,
})

describe('amqplib: consumer_timeout', () => {
  let broker: TestBroker
  let scope: Scope

  before(async () => {
    broker = await startBroker({ consumerTimeout: TIMEOUT_MS })
    scope = new Scope(broker.url, 'ctimeout')
  })
  after(async () => {
    await scope.cleanup()
    await broker.stop()
  })

  test(
    'an unacked delivery closes its channel with 406; the message goes to another consumer',
    TEST_TIMEOUT,
    async (t) => {
      if (broker.external) return t.skip('needs a broker started with a 300 ms consumer timeout')
      const conn = await scope.connect()
      const first = await openChannel(conn)
      const slow = await openChannel(conn)
      const q = scope.queue()
      await slow.assertQueue(q, { durable: false })
      const { inbox } = await consume(slow, q, { noAck: false })
      const started = Date.now()
      slow.sendToQueue(q, Buffer.from('never acked'))
      await inbox.waitFor(1)
      // The second channel opened on the connection is number 2: the text names it
      await expectChannelError(slow, () => {}, timedOut(2))
      const elapsed = Date.now() - started
      assert.ok(elapsed >= TIMEOUT_MS, `not before the timeout (${elapsed} ms)`)
      // Only that channel: the connection and its other channel carry on
      await roundTrip(first)
      const other = await consume(first, q, { noAck: false })
      const [redelivered] = await other.inbox.waitFor(1)
      assert.equal(redelivered!.content.toString(), 'never acked')
      assert.equal(redelivered!.fields.redelivered, true)
      first.ack(redelivered!)
      await roundTrip(first)
      await conn.close()
    },
  )

  test('a consumer that acks in time is not affected, however long it runs', TEST_TIMEOUT, async (t) => {
    if (broker.external) return t.skip('needs a broker started with a 300 ms consumer timeout')
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    await ch.prefetch(1)
    const { inbox } = await consume(ch, q, { noAck: false })
    // Ten deliveries over about a second, three timeouts' worth, each acked after 100 ms
    for (let i = 0; i < 10; i++) {
      ch.sendToQueue(q, Buffer.from(String(i)))
      const [m] = (await inbox.waitFor(i + 1)).slice(i)
      await sleep(100)
      ch.ack(m!)
    }
    await sleep(TIMEOUT_MS + 100)
    assert.equal(await isChannelClosed(ch), false)
    await roundTrip(ch)
    await conn.close()
  })

  test('basic.get with manual ack is timed too, as in RabbitMQ', TEST_TIMEOUT, async (t) => {
    if (broker.external) return t.skip('needs a broker started with a 300 ms consumer timeout')
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    ch.sendToQueue(q, Buffer.from('got'))
    let m: Awaited<ReturnType<typeof ch.get>> = false
    for (let i = 0; i < 50 && !m; i++) m = (await ch.get(q)) || (await sleep(10), false)
    assert.ok(m)
    await expectChannelError(ch, () => {}, timedOut(1))
    const ch2 = await openChannel(conn)
    assert.equal((await ch2.checkQueue(q)).messageCount, 1, 'requeued')
    await conn.close()
  })

  test('an ack in a transaction stops the clock; a rollback starts it again', TEST_TIMEOUT, async (t) => {
    if (broker.external) return t.skip('needs a broker started with a 300 ms consumer timeout')
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    await txSelect(ch)
    const { inbox } = await consume(ch, q, { noAck: false })
    ch.sendToQueue(q, Buffer.from('tx'))
    await txCommit(ch)
    const [m] = await inbox.waitFor(1)
    ch.ack(m!)
    await sleep(TIMEOUT_MS * 2)
    assert.equal(await isChannelClosed(ch), false, 'acked, though not committed')
    await txRollback(ch)
    // Unacked again since its delivery, long ago: the channel goes within one timeout
    await expectChannelError(ch, () => {}, timedOut(1))
    await conn.close()
  })

  test('no-ack deliveries and settled ones are not timed', TEST_TIMEOUT, async (t) => {
    if (broker.external) return t.skip('needs a broker started with a 300 ms consumer timeout')
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    const r = scope.queue()
    await ch.assertQueue(q, { durable: false })
    await ch.assertQueue(r, { durable: false })
    const auto = await consume(ch, q, { noAck: true })
    const manual = await consume(ch, r, { noAck: false })
    ch.sendToQueue(q, Buffer.from('auto'))
    ch.sendToQueue(r, Buffer.from('nacked'))
    ch.sendToQueue(r, Buffer.from('rejected'))
    const [nacked, rejected] = await manual.inbox.waitFor(2)
    await auto.inbox.waitFor(1)
    ch.nack(nacked!, false, false)
    ch.reject(rejected!, false)
    await sleep(TIMEOUT_MS * 2 + 100)
    assert.equal(await isChannelClosed(ch), false)
    await conn.close()
  })
})

describe('amqplib: consumer_timeout 0 disables it', () => {
  let broker: TestBroker
  let scope: Scope

  before(async () => {
    broker = await startBroker({ consumerTimeout: 0 })
    scope = new Scope(broker.url, 'ctimeout0')
  })
  after(async () => {
    await scope.cleanup()
    await broker.stop()
  })

  test('an unacked delivery is left alone', TEST_TIMEOUT, async (t) => {
    if (broker.external) return t.skip('needs a broker started with consumer_timeout 0')
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    const { inbox } = await consume(ch, q, { noAck: false })
    ch.sendToQueue(q, Buffer.from('kept'))
    const [m] = await inbox.waitFor(1)
    await sleep(TIMEOUT_MS * 3)
    assert.equal(await isChannelClosed(ch), false)
    ch.ack(m!)
    await roundTrip(ch)
    await conn.close()
  })
})
