// A publish's body is read in place from the socket's read buffer, and kept that way only while nothing keeps
// the message: written straight out to no-ack consumers, it is never copied on the way in. Anything that
// keeps it (a queue, an unacked delivery, a dead letter) keeps a copy, so that a small queued message never
// pins the 64 KiB read it arrived in. And the bytes that go out are the bytes that came in, whichever way.
// Warren-only: the assertions look at the memory behind the bodies Warren keeps.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import amqp from 'amqplib'
import type { Message } from '../../src/broker/message.js'
import type { Queue } from '../../src/broker/queue/queue.js'
import { startBroker, type InProcessBroker } from '../helpers/broker.js'
import { RawClient, bodyFrame, headerFrame, methodFrame } from '../helpers/raw-client.js'

const T = { timeout: 60_000 }
const BODY_SIZE = 1024
/** Enough 1 KB publishes in one write that the broker reads them in 64 KiB chunks */
const BATCH = 300

let server: InProcessBroker

before(async () => {
  server = await startBroker({ inProcess: true })
})

after(async () => {
  await server?.stop()
})

function queueNamed(name: string): Queue {
  return server.broker.vhosts.get('/')!.queues.get(name)!
}

/** The message's body is its own memory (or a share of Node's small Buffer pool), not a socket read. */
function assertOwnBody(m: Message, what: string): void {
  assert.equal(m.body.length, BODY_SIZE)
  assert.ok(
    m.body.buffer.byteLength <= Buffer.poolSize,
    `${what}: the body is a view of ${m.body.buffer.byteLength} bytes (a socket read), not a copy`,
  )
}

function body(i: number): Buffer {
  const b = Buffer.alloc(BODY_SIZE, i % 251)
  b.writeUInt32BE(i)
  return b
}

async function declare(c: RawClient, queue: string, args: Record<string, string | number> = {}): Promise<void> {
  c.send(1, {
    name: 'queue.declare',
    queue,
    passive: false,
    durable: false,
    exclusive: false,
    autoDelete: false,
    noWait: false,
    arguments: args,
  })
  await c.expect('queue.declare-ok')
}

/** BATCH publishes of 1 KB in one write, then a round trip: every publish was handled when it returns. */
async function publishBatch(c: RawClient, exchange: string, routingKey: string): Promise<void> {
  const frames: Buffer[] = []
  for (let i = 0; i < BATCH; i++) {
    frames.push(
      methodFrame(1, { name: 'basic.publish', exchange, routingKey, mandatory: false, immediate: false }),
      headerFrame(1, BODY_SIZE),
      bodyFrame(1, body(i)),
    )
  }
  c.write(Buffer.concat(frames))
  c.send(1, { name: 'basic.qos', prefetchSize: 0, prefetchCount: 0, global: false })
  await c.expect('basic.qos-ok', 30_000)
}

/** A consumer on a connection of its own, whose deliveries nobody looks at. */
async function consume(queue: string, noAck: boolean): Promise<RawClient> {
  const c = await RawClient.open(server.port)
  await c.openChannel(1)
  c.send(1, {
    name: 'basic.consume',
    queue,
    consumerTag: 'c',
    noLocal: false,
    noAck,
    exclusive: false,
    noWait: false,
    arguments: {},
  })
  await c.expect('basic.consume-ok')
  return c
}

describe('lent bodies: a kept message keeps a copy of its body', () => {
  test('1 KB messages queued with no consumer do not pin the socket reads they came in', T, async () => {
    const c = await RawClient.open(server.port)
    await c.openChannel(1)
    await declare(c, 'lent-queued')
    await publishBatch(c, '', 'lent-queued')
    let n = 0
    for (const entry of queueNamed('lent-queued').readyEntries()) assertOwnBody(entry.message!, `message ${n++}`)
    assert.equal(n, BATCH)
    await c.close()
  })

  test('deliveries waiting for an ack do not pin the socket reads they came in', T, async () => {
    const c = await RawClient.open(server.port)
    await c.openChannel(1)
    await declare(c, 'lent-unacked')
    const consumer = await consume('lent-unacked', false)
    await publishBatch(c, '', 'lent-unacked')
    const connection = [...server.connections].find((x) => x.info.remotePort === consumer.stream.localPort)!
    let n = 0
    for (const channel of connection.channelList) {
      for (const unacked of channel.unackedEntries) assertOwnBody(unacked.entry.message!, `unacked ${n++}`)
    }
    assert.equal(n, BATCH)
    consumer.destroy()
    await c.close()
  })

  test('a dead letter made while the same publish went straight to a no-ack consumer keeps a copy', T, async () => {
    const c = await RawClient.open(server.port)
    await c.openChannel(1)
    c.send(1, {
      name: 'exchange.declare',
      exchange: 'lent-fanout',
      type: 'fanout',
      passive: false,
      durable: false,
      autoDelete: false,
      internal: false,
      noWait: false,
      arguments: {},
    })
    await c.expect('exchange.declare-ok')
    await declare(c, 'lent-consumed')
    // Refuses every message, dead-lettering it to lent-dead (no consumer: it stays there)
    await declare(c, 'lent-full', {
      'x-max-length': 0,
      'x-overflow': 'reject-publish-dlx',
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': 'lent-dead',
    })
    await declare(c, 'lent-dead')
    for (const queue of ['lent-consumed', 'lent-full']) {
      c.send(1, { name: 'queue.bind', queue, exchange: 'lent-fanout', routingKey: '', noWait: false, arguments: {} })
      await c.expect('queue.bind-ok')
    }
    const consumer = await consume('lent-consumed', true)
    await publishBatch(c, 'lent-fanout', '')
    let n = 0
    for (const entry of queueNamed('lent-dead').readyEntries()) assertOwnBody(entry.message!, `dead letter ${n++}`)
    assert.equal(n, BATCH)
    consumer.destroy()
    await c.close()
  })
})

describe('lent bodies: what goes out is what came in', () => {
  test('6,000 distinct 1-2 KB bodies streamed to a no-ack consumer arrive intact and in order', T, async () => {
    const count = 6000
    const conn = await amqp.connect(server.url)
    const ch = await conn.createChannel()
    const q = await ch.assertQueue('', { exclusive: true })
    const received: Buffer[] = []
    const done = new Promise<void>((resolve) => {
      void ch.consume(
        q.queue,
        (m) => {
          if (m) received.push(m.content)
          if (received.length === count) resolve()
        },
        { noAck: true },
      )
    })
    const pub = await conn.createChannel()
    const sent: Buffer[] = []
    for (let i = 0; i < count; i++) {
      const b = Buffer.alloc(1024 + (i % 1000), i % 251)
      b.writeUInt32BE(i)
      sent.push(b)
      pub.sendToQueue(q.queue, b)
    }
    await done
    assert.equal(received.length, count)
    for (let i = 0; i < count; i++) assert.ok(received[i]!.equals(sent[i]!), `body ${i} differs`)
    await conn.close()
  })
})
