// confirm class: publisher confirms for routed, unroutable and returned messages, sequence numbers,
// nacks (x-overflow reject-publish), and a channel error in confirm mode.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import type { ConfirmChannel } from 'amqplib'
import { startBroker, type TestBroker } from '../../helpers/broker.js'
import {
  Scope,
  TEST_TIMEOUT,
  WAIT_MS,
  confirmSelect,
  expectChannelError,
  roundTrip,
  waitForMessageCount,
  withTimeout,
} from '../../helpers/amqplib.js'

/** Publishes and resolves with null when acked, or the error when nacked. */
function publishConfirmed(
  ch: ConfirmChannel,
  exchange: string,
  key: string,
  body: string,
  options: { mandatory?: boolean; persistent?: boolean } = {},
): Promise<Error | null> {
  return withTimeout(
    new Promise((resolve) => {
      ch.publish(exchange, key, Buffer.from(body), options, (err: Error | null) => resolve(err ?? null))
    }),
    WAIT_MS,
    `the confirm for ${body}`,
  )
}

describe('amqplib: confirm', () => {
  let broker: TestBroker
  let scope: Scope

  before(async () => {
    broker = await startBroker()
    scope = new Scope(broker.url, 'confirm')
  })
  after(async () => {
    await scope.cleanup()
    await broker.stop()
  })

  test('a routed message is acked', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.openConfirm()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    assert.equal(await publishConfirmed(ch, '', q, 'routed'), null)
    assert.equal((await ch.checkQueue(q)).messageCount, 1)
    await conn.close()
  })

  test('confirm.select is idempotent', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.openConfirm()
    assert.deepEqual(await confirmSelect(ch), {})
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    assert.equal(await publishConfirmed(ch, '', q, 'after second select'), null)
    await conn.close()
  })

  test('an unroutable message is acked too', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.openConfirm()
    const x = scope.exchange()
    await ch.assertExchange(x, 'direct', { durable: false })
    assert.equal(await publishConfirmed(ch, x, 'nowhere', 'unroutable'), null)
    await conn.close()
  })

  test('an unroutable mandatory message is returned, then acked', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.openConfirm()
    const x = scope.exchange()
    await ch.assertExchange(x, 'direct', { durable: false })
    const events: string[] = []
    ch.on('return', (m: { fields: { replyCode: number; replyText: string } }) =>
      events.push(`return ${m.fields.replyCode} ${m.fields.replyText}`),
    )
    ch.on('ack', (f: { deliveryTag: number }) => events.push(`ack ${f.deliveryTag}`))
    assert.equal(await publishConfirmed(ch, x, 'nowhere', 'bounce', { mandatory: true }), null)
    assert.deepEqual(events, ['return 312 NO_ROUTE', 'ack 1'])
    await conn.close()
  })

  test('every publish gets a sequence number from 1, and all are confirmed', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.openConfirm()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    const acked = new Set<number>()
    let nacks = 0
    ch.on('ack', (f: { deliveryTag: number; multiple: boolean }) => {
      // with multiple=true, one ack covers every tag up to deliveryTag
      if (f.multiple) for (let t = 1; t <= f.deliveryTag; t++) acked.add(t)
      else acked.add(f.deliveryTag)
    })
    ch.on('nack', () => nacks++)
    const n = 500
    for (let i = 0; i < n; i++) ch.sendToQueue(q, Buffer.from(String(i)))
    await withTimeout(ch.waitForConfirms(), WAIT_MS, 'all confirms')
    assert.equal(acked.size, n)
    assert.equal(Math.max(...acked), n)
    assert.equal(nacks, 0)
    await waitForMessageCount(ch, q, n)
    await conn.close()
  })

  test('persistent messages to a durable queue are acked', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.openConfirm()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: true })
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => publishConfirmed(ch, '', q, `p${i}`, { persistent: true })),
    )
    assert.deepEqual(results, Array(20).fill(null))
    await waitForMessageCount(ch, q, 20)
    await ch.deleteQueue(q)
    await conn.close()
  })

  test('a message routed to several queues is confirmed once', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.openConfirm()
    const x = scope.exchange()
    await ch.assertExchange(x, 'fanout', { durable: false })
    const queues = [scope.queue(), scope.queue(), scope.queue()]
    for (const q of queues) {
      await ch.assertQueue(q, { durable: false })
      await ch.bindQueue(q, x, '')
    }
    let acks = 0
    ch.on('ack', () => acks++)
    assert.equal(await publishConfirmed(ch, x, '', 'fan'), null)
    await roundTrip(ch)
    assert.equal(acks, 1)
    for (const q of queues) await waitForMessageCount(ch, q, 1)
    await conn.close()
  })

  test('a publish refused by x-overflow reject-publish is nacked', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.openConfirm()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false, maxLength: 1, overflow: 'reject-publish' })
    const nacks: Array<{ deliveryTag: number; multiple: boolean; requeue: boolean }> = []
    ch.on('nack', (f: { deliveryTag: number; multiple: boolean; requeue: boolean }) => nacks.push(f))
    assert.equal(await publishConfirmed(ch, '', q, 'fits'), null)
    const refused = await publishConfirmed(ch, '', q, 'overflows')
    assert.ok(refused instanceof Error, 'the second publish is nacked')
    // RabbitMQ coalesces confirms: with nothing below tag 2 outstanding it sets multiple=true, and the
    // requeue bit of a server-sent nack is left at the method's default, true
    assert.deepEqual(nacks, [{ deliveryTag: 2, multiple: true, requeue: true }])
    assert.equal((await ch.checkQueue(q)).messageCount, 1)
    await conn.close()
  })

  test('a channel error in confirm mode fails the outstanding confirms', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.openConfirm()
    const missing = scope.name('missing')
    const outcome = publishConfirmed(ch, missing, 'k', 'lost')
    // the publish above already went out: just wait for the close
    await expectChannelError(ch, () => undefined, {
      code: 404,
      text: `NOT_FOUND - no exchange '${missing}' in vhost '/'`,
      classId: 60,
      methodId: 40,
    })
    const err = await outcome
    assert.ok(err instanceof Error)
    assert.equal(err.message, 'channel closed')
    await conn.close()
  })
})
