// A queue far longer than the part it keeps as objects (ready-list.ts packs the rest into bytes): every
// message comes back exactly as published (route, properties, body), in order, and requeued ones go back
// to their places marked redelivered; a priority queue packs each level the same way.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import amqp, { type ConsumeMessage } from 'amqplib'
import { TEST_TIMEOUT, openChannel, openConfirmChannel } from '../helpers/amqplib.js'
import { startBroker, type TestBroker } from '../helpers/broker.js'

const COUNT = 12_000

/** Messages of a few shapes, so that consecutive ones share or change route and properties. */
function publishAll(ch: amqp.ConfirmChannel, queue: string, exchange: string): void {
  for (let i = 0; i < COUNT; i++) {
    const shape = Math.floor(i / 7) % 4
    const options: amqp.Options.Publish = { messageId: shape === 1 ? `id-${i}` : undefined }
    if (shape === 2) options.headers = { n: i, s: 'é' }
    if (shape === 3) options.contentType = 'text/plain'
    options.priority = i % 3
    const body = Buffer.alloc(bodyLength(i), i % 251)
    body.write(String(i).padStart(6, '0'))
    ch.publish(exchange, shape === 3 ? 'other-key' : queue, body, options)
  }
}

/** Large bodies (kept as objects) among small ones (copied into records) */
const bodyLength = (i: number): number => (Math.floor(i / 7) % 4 === 0 ? 5000 : 8 + (i % 300))
const numberOf = (m: { content: Buffer }): number => Number(m.content.toString('latin1', 0, 6))

function check(m: ConsumeMessage, i: number, queue: string): void {
  const shape = Math.floor(i / 7) % 4
  assert.equal(m.content.length, bodyLength(i))
  assert.equal(m.content[m.content.length - 1], i % 251)
  assert.equal(m.properties.messageId, shape === 1 ? `id-${i}` : undefined)
  assert.deepEqual(m.properties.headers ?? {}, shape === 2 ? { n: i, s: 'é' } : {})
  assert.equal(m.properties.contentType, shape === 3 ? 'text/plain' : undefined)
  assert.equal(m.fields.routingKey, shape === 3 ? 'other-key' : queue)
}

/** Consumes all COUNT messages of a queue (checking each, then `alsoCheck`), acking each; their numbers in order. */
function consumeAll(sub: amqp.Channel, queue: string, alsoCheck: (m: ConsumeMessage, i: number) => void = () => {}) {
  const seen: number[] = []
  return new Promise<number[]>((resolve, reject) => {
    void sub.consume(queue, (m) => {
      if (!m) return reject(new Error('cancelled'))
      try {
        const i = numberOf(m)
        check(m, i, queue)
        alsoCheck(m, i)
        seen.push(i)
        sub.ack(m)
        if (seen.length === COUNT) resolve(seen)
      } catch (err) {
        reject(err)
      }
    })
  })
}

describe('a long queue', () => {
  let broker: TestBroker
  before(async () => {
    broker = await startBroker()
  })
  after(async () => {
    await broker.stop()
  })

  test(
    'delivers every message as published and in order; requeued ones go back to their places',
    TEST_TIMEOUT,
    async () => {
      const conn = await amqp.connect(broker.url)
      const pub = await openConfirmChannel(conn)
      const q = 'long-transient'
      await pub.assertQueue(q, { durable: false })
      await pub.assertExchange('long-x', 'direct', { durable: false })
      await pub.bindQueue(q, 'long-x', q)
      await pub.bindQueue(q, 'long-x', 'other-key')
      publishAll(pub, q, 'long-x')
      await pub.waitForConfirms()
      assert.equal((await pub.checkQueue(q)).messageCount, COUNT)
      // The first 20 are taken and requeued: they go back first, in order, marked redelivered
      const getter = await openChannel(conn)
      for (let i = 0; i < 20; i++) assert.equal(numberOf((await getter.get(q)) as amqp.GetMessage), i)
      getter.nackAll(true)
      assert.equal((await getter.checkQueue(q)).messageCount, COUNT)
      const sub = await openChannel(conn)
      await sub.prefetch(50)
      const seen = await consumeAll(sub, q, (m, i) => assert.equal(m.fields.redelivered, i < 20))
      assert.deepEqual(
        seen,
        Array.from({ length: COUNT }, (_, i) => i),
      )
      await conn.close()
    },
  )

  test('a priority queue delivers each level in publish order', TEST_TIMEOUT, async () => {
    const conn = await amqp.connect(broker.url)
    const pub = await openConfirmChannel(conn)
    const q = 'long-priority'
    await pub.assertQueue(q, { durable: false, arguments: { 'x-max-priority': 2 } })
    await pub.assertExchange('long-px', 'direct', { durable: false })
    await pub.bindQueue(q, 'long-px', q)
    await pub.bindQueue(q, 'long-px', 'other-key')
    publishAll(pub, q, 'long-px')
    await pub.waitForConfirms()
    const expected: number[] = []
    for (let p = 2; p >= 0; p--) for (let i = p; i < COUNT; i += 3) expected.push(i)
    const sub = await openChannel(conn)
    await sub.prefetch(100)
    assert.deepEqual(await consumeAll(sub, q), expected)
    await conn.close()
  })
})
