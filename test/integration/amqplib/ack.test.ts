// basic.ack / basic.nack / basic.reject / basic.recover: single and multiple, requeue to the original
// position with redelivered=true, unknown delivery tags, and requeue of unacked messages on close.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import type { Channel, GetMessage } from 'amqplib'
import { startBroker, type TestBroker } from '../../helpers/broker.js'
import {
  Scope,
  TEST_TIMEOUT,
  basicRecover,
  basicRecoverAsync,
  consume,
  expectChannelError,
  expectConnectionError,
  openChannel,
  roundTrip,
  sendAll,
  waitForMessageCount,
} from '../../helpers/amqplib.js'

/** Gets every ready message (no-ack) as "body" or "body(r)" when redelivered. */
async function drainMarked(ch: Channel, queue: string): Promise<string[]> {
  const out: string[] = []
  for (;;) {
    const m = await ch.get(queue, { noAck: true })
    if (m === false) return out
    out.push(m.content.toString() + (m.fields.redelivered ? '(r)' : ''))
  }
}

describe('amqplib: ack, nack, reject, recover', () => {
  let broker: TestBroker
  let scope: Scope

  before(async () => {
    broker = await startBroker()
    scope = new Scope(broker.url, 'ack')
  })
  after(async () => {
    await scope.cleanup()
    await broker.stop()
  })

  /** A queue holding '1'..'5', of which '1', '2', '3' have been fetched unacked on `ch` (tags 1, 2, 3). */
  async function fiveWithThreeUnacked(): Promise<{
    ch: Channel
    q: string
    got: GetMessage[]
    close(): Promise<void>
  }> {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    sendAll(ch, q, ['1', '2', '3', '4', '5'])
    await waitForMessageCount(ch, q, 5)
    const got: GetMessage[] = []
    for (let i = 0; i < 3; i++) {
      const m = await ch.get(q)
      assert.ok(m)
      got.push(m)
    }
    assert.deepEqual(
      got.map((m) => m.fields.deliveryTag),
      [1, 2, 3],
    )
    return { ch, q, got, close: () => conn.close() }
  }

  /** What is left in the queue once the channel's unacked messages have been requeued by closing it. */
  async function leftAfterClose(ch: Channel, q: string, close: () => Promise<void>): Promise<string[]> {
    await roundTrip(ch)
    await close()
    const { conn, ch: check } = await scope.open()
    const left = await drainMarked(check, q)
    await conn.close()
    return left
  }

  test('ack removes a message for good', TEST_TIMEOUT, async () => {
    const { ch, q, got, close } = await fiveWithThreeUnacked()
    ch.ack(got[1]!)
    assert.deepEqual(await leftAfterClose(ch, q, close), ['1(r)', '3(r)', '4', '5'])
  })

  test('ack multiple acknowledges everything up to the tag', TEST_TIMEOUT, async () => {
    const { ch, q, got, close } = await fiveWithThreeUnacked()
    ch.ack(got[1]!, true)
    assert.deepEqual(await leftAfterClose(ch, q, close), ['3(r)', '4', '5'])
  })

  test('ack multiple works across gaps left by earlier single acks', TEST_TIMEOUT, async () => {
    const { ch, q, got, close } = await fiveWithThreeUnacked()
    ch.ack(got[1]!)
    ch.ack(got[2]!, true)
    assert.deepEqual(await leftAfterClose(ch, q, close), ['4', '5'])
  })

  test(
    'ackAll (tag 0, multiple) acknowledges all, and is harmless with nothing outstanding',
    TEST_TIMEOUT,
    async () => {
      const { ch, q, close } = await fiveWithThreeUnacked()
      ch.ackAll()
      ch.ackAll()
      assert.deepEqual(await leftAfterClose(ch, q, close), ['4', '5'])
    },
  )

  test('reject with requeue puts the message back in its original position, redelivered', TEST_TIMEOUT, async () => {
    const { ch, q, got, close } = await fiveWithThreeUnacked()
    ch.reject(got[1]!, true)
    await waitForMessageCount(ch, q, 3)
    const next = await ch.get(q)
    assert.ok(next)
    assert.equal(next.content.toString(), '2')
    assert.equal(next.fields.redelivered, true)
    assert.equal(next.fields.deliveryTag, 4, 'a redelivery gets a new delivery tag')
    assert.equal(next.fields.messageCount, 2)
    ch.ack(next)
    assert.deepEqual(await leftAfterClose(ch, q, close), ['1(r)', '3(r)', '4', '5'])
  })

  test('requeued messages return in their original order whatever the order of the nacks', TEST_TIMEOUT, async () => {
    const { ch, q, got, close } = await fiveWithThreeUnacked()
    ch.nack(got[2]!, false, true)
    ch.nack(got[0]!, false, true)
    await waitForMessageCount(ch, q, 4)
    assert.deepEqual(await drainMarked(ch, q), ['1(r)', '3(r)', '4', '5'])
    assert.deepEqual(await leftAfterClose(ch, q, close), ['2(r)'])
  })

  test('nack multiple with requeue', TEST_TIMEOUT, async () => {
    const { ch, q, got, close } = await fiveWithThreeUnacked()
    ch.nack(got[1]!, true, true)
    await waitForMessageCount(ch, q, 4)
    assert.deepEqual(await drainMarked(ch, q), ['1(r)', '2(r)', '4', '5'])
    assert.deepEqual(await leftAfterClose(ch, q, close), ['3(r)'])
  })

  test('reject and nack without requeue drop the message', TEST_TIMEOUT, async () => {
    const { ch, q, got, close } = await fiveWithThreeUnacked()
    ch.reject(got[0]!, false)
    ch.nack(got[2]!, false, false)
    assert.deepEqual(await leftAfterClose(ch, q, close), ['2(r)', '4', '5'])
  })

  test('nackAll without requeue drops every unacked message', TEST_TIMEOUT, async () => {
    const { ch, q, close } = await fiveWithThreeUnacked()
    ch.nackAll(false)
    assert.deepEqual(await leftAfterClose(ch, q, close), ['4', '5'])
  })

  test('nackAll with requeue', TEST_TIMEOUT, async () => {
    const { ch, q, close } = await fiveWithThreeUnacked()
    ch.nackAll(true)
    await waitForMessageCount(ch, q, 5)
    assert.deepEqual(await drainMarked(ch, q), ['1(r)', '2(r)', '3(r)', '4', '5'])
    await close()
  })

  for (const [method, classId, methodId, send] of [
    ['ack', 60, 80, (ch: Channel, tag: number) => ch.ack({ fields: { deliveryTag: tag } } as GetMessage)],
    ['reject', 60, 90, (ch: Channel, tag: number) => ch.reject({ fields: { deliveryTag: tag } } as GetMessage)],
    ['nack', 60, 120, (ch: Channel, tag: number) => ch.nack({ fields: { deliveryTag: tag } } as GetMessage)],
  ] as const) {
    test(`basic.${method} of an unknown delivery tag: 406 channel error`, TEST_TIMEOUT, async () => {
      const { ch, q, close } = await fiveWithThreeUnacked()
      await expectChannelError(ch, () => send(ch, 99), {
        code: 406,
        text: 'PRECONDITION_FAILED - unknown delivery tag 99',
        classId,
        methodId,
      })
      // the channel's unacked messages were requeued when it closed
      const { conn, ch: check } = await scope.open()
      await waitForMessageCount(check, q, 5)
      assert.deepEqual(await drainMarked(check, q), ['1(r)', '2(r)', '3(r)', '4', '5'])
      await conn.close()
      await close()
    })
  }

  test('acknowledging the same delivery twice: 406 unknown delivery tag', TEST_TIMEOUT, async () => {
    const { ch, got, close } = await fiveWithThreeUnacked()
    ch.ack(got[0]!)
    await expectChannelError(ch, () => ch.ack(got[0]!), {
      code: 406,
      text: 'PRECONDITION_FAILED - unknown delivery tag 1',
    })
    await close()
  })

  test('ack multiple naming an acknowledged or unknown tag: 406', TEST_TIMEOUT, async () => {
    let { ch, got, close } = await fiveWithThreeUnacked()
    ch.ack(got[1]!)
    await expectChannelError(ch, () => ch.ack(got[1]!, true), {
      code: 406,
      text: 'PRECONDITION_FAILED - unknown delivery tag 2',
    })
    await close()
    ;({ ch, got, close } = await fiveWithThreeUnacked())
    await expectChannelError(ch, () => ch.ack({ fields: { deliveryTag: 7 } } as GetMessage, true), {
      code: 406,
      text: 'PRECONDITION_FAILED - unknown delivery tag 7',
    })
    await close()
  })

  test('ack of delivery tag 0 without multiple: 406 unknown delivery tag 0', TEST_TIMEOUT, async () => {
    const { ch, close } = await fiveWithThreeUnacked()
    await expectChannelError(ch, () => ch.ack({ fields: { deliveryTag: 0 } } as GetMessage), {
      code: 406,
      text: 'PRECONDITION_FAILED - unknown delivery tag 0',
    })
    await close()
  })

  test('closing a channel requeues its unacked messages in their original order', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const ch = await openChannel(conn)
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    sendAll(ch, q, ['1', '2', '3', '4'])
    const c = await openChannel(conn)
    const { inbox } = await consume(c, q)
    const ms = await inbox.waitFor(4)
    c.ack(ms[1]!)
    await c.close()
    await waitForMessageCount(ch, q, 3)
    assert.deepEqual(await drainMarked(ch, q), ['1(r)', '3(r)', '4(r)'])
    await conn.close()
  })

  test('closing a connection requeues the unacked messages of all its channels', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    sendAll(ch, q, ['a', 'b', 'c'])
    const consumerConn = await scope.connect()
    const c1 = await openChannel(consumerConn)
    const c2 = await openChannel(consumerConn)
    await c1.prefetch(1)
    const { inbox } = await consume(c1, q)
    await inbox.waitFor(1)
    await waitForMessageCount(ch, q, 2)
    const got = await c2.get(q)
    assert.ok(got)
    await consumerConn.close()
    await waitForMessageCount(ch, q, 3)
    assert.deepEqual(await drainMarked(ch, q), ['a(r)', 'b(r)', 'c'])
    await conn.close()
  })

  test('a requeued message goes to a waiting consumer, marked redelivered', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const ch = await openChannel(conn)
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    ch.sendToQueue(q, Buffer.from('x'))
    await waitForMessageCount(ch, q, 1)
    const m = await ch.get(q)
    assert.ok(m)
    const other = await openChannel(conn)
    const { inbox } = await consume(other, q, { noAck: true })
    ch.reject(m, true)
    const [again] = await inbox.waitFor(1)
    assert.equal(again!.content.toString(), 'x')
    assert.equal(again!.fields.redelivered, true)
    await conn.close()
  })

  test('basic.recover redelivers every unacked message, marked redelivered', TEST_TIMEOUT, async () => {
    const { ch, q, close } = await fiveWithThreeUnacked()
    assert.deepEqual(await ch.recover(), {})
    await waitForMessageCount(ch, q, 5)
    assert.deepEqual(await drainMarked(ch, q), ['1(r)', '2(r)', '3(r)', '4', '5'])
    await close()
  })

  test('basic.recover redelivers to the channel’s consumer', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    sendAll(ch, q, ['a', 'b'])
    const { inbox } = await consume(ch, q)
    await inbox.waitFor(2)
    await basicRecover(ch, true)
    const all = await inbox.waitFor(4)
    assert.deepEqual(
      all.map((m) => `${m.content.toString()}:${m.fields.redelivered}:${m.fields.deliveryTag}`),
      ['a:false:1', 'b:false:2', 'a:true:3', 'b:true:4'],
    )
    ch.ack(all[3]!, true)
    await roundTrip(ch)
    await conn.close()
  })

  test('basic.recover-async with requeue redelivers too', TEST_TIMEOUT, async () => {
    const { ch, q, close } = await fiveWithThreeUnacked()
    basicRecoverAsync(ch, true)
    await waitForMessageCount(ch, q, 5)
    assert.deepEqual(await drainMarked(ch, q), ['1(r)', '2(r)', '3(r)', '4', '5'])
    await close()
  })

  test('basic.recover with requeue=false is a 540 NOT_IMPLEMENTED connection error', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    await expectConnectionError(conn, basicRecover(ch, false), { code: 540, text: 'NOT_IMPLEMENTED - requeue=false' })
  })
})
