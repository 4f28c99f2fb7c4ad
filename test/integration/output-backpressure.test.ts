// Output buffered per connection is bounded for every kind of outgoing content (issue #7, item 13): a client
// that pipelines basic.get, or publishes mandatory messages that come back as basic.return, or asks for
// direct replies, and never reads, must not grow the broker without end. Warren stops reading such a client
// while its output is over --max-output-buffer (it is then its own replies that wait, in its socket), and
// reads it again once it drains. Warren-only: the assertions look at the broker's buffered output.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import amqp from 'amqplib'
import type { Connection } from '../../src/server/connection.js'
import { sleep } from '../helpers/amqplib.js'
import { startBroker, type InProcessBroker } from '../helpers/broker.js'
import { RawClient, bodyFrame, headerFrame, methodFrame } from '../helpers/raw-client.js'

const T = { timeout: 60_000 }
const LIMIT = 256 * 1024
const BODY = Buffer.alloc(1024, 'x')
/** The most one reply adds: method frame, header frame, one body frame, with their framing */
const ONE_REPLY = BODY.length + 200
const COUNT = 20_000

let server: InProcessBroker

before(async () => {
  server = await startBroker({ inProcess: true, maxOutputBuffer: LIMIT })
})

after(async () => {
  await server?.stop()
})

/** The broker's side of a raw client: the connection whose remote port is the client's local port. */
function serverSide(client: RawClient): Connection {
  for (const c of server.connections) if (c.info.remotePort === client.stream.localPort) return c
  throw new Error('no server connection for this client')
}

/** Samples `value` until it has not changed for `quietMs`; returns the highest value seen. */
async function untilSettled(value: () => number, peak: () => number, quietMs = 400, maxMs = 20_000): Promise<number> {
  let last = value()
  let highest = peak()
  let stableSince = Date.now()
  const deadline = Date.now() + maxMs
  while (Date.now() - stableSince < quietMs && Date.now() < deadline) {
    await sleep(20)
    highest = Math.max(highest, peak())
    const now = value()
    if (now !== last) {
      last = now
      stableSince = Date.now()
    }
  }
  return highest
}

async function fillQueue(queue: string, n: number): Promise<void> {
  const c = await RawClient.open(server.port)
  await c.openChannel(1)
  c.send(1, {
    name: 'queue.declare',
    queue,
    passive: false,
    durable: false,
    exclusive: false,
    autoDelete: false,
    noWait: false,
    arguments: {},
  })
  await c.expect('queue.declare-ok')
  const frames: Buffer[] = []
  for (let i = 0; i < n; i++) {
    frames.push(
      methodFrame(1, { name: 'basic.publish', exchange: '', routingKey: queue, mandatory: false, immediate: false }),
      headerFrame(1, BODY.length),
      bodyFrame(1, BODY),
    )
  }
  c.write(Buffer.concat(frames))
  // queue.declare passive answers once every publish before it was handled
  c.send(1, {
    name: 'queue.declare',
    queue,
    passive: true,
    durable: false,
    exclusive: false,
    autoDelete: false,
    noWait: false,
    arguments: {},
  })
  const ok = await c.expect('queue.declare-ok', 30_000)
  assert.equal(ok.messageCount, n)
  await c.close()
}

/** A well-behaved client still gets its work done while another one is stuck. */
async function bystanderRoundTrip(): Promise<void> {
  const conn = await amqp.connect(server.url)
  const ch = await conn.createChannel()
  const q = await ch.assertQueue('', { exclusive: true })
  ch.sendToQueue(q.queue, Buffer.from('still here'))
  let msg: amqp.GetMessage | false = false
  for (let i = 0; i < 50 && !msg; i++) {
    msg = await ch.get(q.queue, { noAck: true })
    if (!msg) await sleep(20)
  }
  assert.ok(msg && msg.content.toString() === 'still here')
  await conn.close()
}

/** Reads everything the client was sent until `count` frames of `type` arrived. */
async function drainClient(c: RawClient, name: string, count: number): Promise<void> {
  c.stream.resume()
  let seen = 0
  while (seen < count) {
    const f = await c.nextFrame(10_000)
    if (f.method?.name === name) seen++
  }
}

describe('output backpressure: a client that does not read', () => {
  test(`${COUNT} pipelined basic.get of 1 KB messages: the buffered output stays under the limit`, T, async () => {
    const queue = 'backpressure-get'
    await fillQueue(queue, COUNT)
    const c = await RawClient.open(server.port)
    await c.openChannel(1)
    const conn = serverSide(c)
    c.stream.pause()
    const get = methodFrame(1, { name: 'basic.get', queue, noAck: true })
    c.write(Buffer.concat(Array.from({ length: COUNT }, () => get)))
    const q = server.broker.vhosts.get('/')!.queues.get(queue)!
    const peak = await untilSettled(
      () => q.messageCount,
      () => conn.bufferedOutput,
    )
    assert.ok(peak <= LIMIT + ONE_REPLY, `buffered output peaked at ${peak} bytes; the limit is ${LIMIT}`)
    assert.ok(q.messageCount > 0, 'the broker stopped reading the client before answering every get')
    await bystanderRoundTrip()
    // Once the client reads, the held gets are answered, in order, every one
    await drainClient(c, 'basic.get-ok', COUNT)
    assert.equal(q.messageCount, 0)
    await c.close()
  })

  test(
    `${COUNT} mandatory unroutable publishes, basic.return not read: the buffered output stays bounded`,
    T,
    async () => {
      const c = await RawClient.open(server.port)
      await c.openChannel(1)
      const conn = serverSide(c)
      c.stream.pause()
      const one = Buffer.concat([
        methodFrame(1, {
          name: 'basic.publish',
          exchange: '',
          routingKey: 'no-such-queue',
          mandatory: true,
          immediate: false,
        }),
        headerFrame(1, BODY.length),
        bodyFrame(1, BODY),
      ])
      c.write(Buffer.concat(Array.from({ length: COUNT }, () => one)))
      const peak = await untilSettled(
        () => conn.bufferedOutput,
        () => conn.bufferedOutput,
      )
      assert.ok(peak <= LIMIT + ONE_REPLY, `buffered output peaked at ${peak} bytes; the limit is ${LIMIT}`)
      await bystanderRoundTrip()
      await drainClient(c, 'basic.return', COUNT)
      await c.close()
    },
  )

  test('direct reply-to: replies to a requester that does not read are bounded, the replier goes on', T, async () => {
    const requester = await RawClient.open(server.port)
    await requester.openChannel(1)
    requester.send(1, {
      name: 'basic.consume',
      queue: 'amq.rabbitmq.reply-to',
      consumerTag: '',
      noLocal: false,
      noAck: true,
      exclusive: false,
      noWait: false,
      arguments: {},
    })
    await requester.expect('basic.consume-ok')
    const target = serverSide(requester)
    requester.stream.pause()
    const vhost = server.broker.vhosts.get('/')!
    const address = [...vhost.directReplyTo.addresses()][0]!

    // The replier also consumes (as RPC servers do) and publishes with confirms
    const conn = await amqp.connect(server.url)
    const ch = await conn.createConfirmChannel()
    const work = await ch.assertQueue('', { exclusive: true })
    await ch.consume(work.queue, () => {}, { noAck: true })
    let peak = 0
    const sampler = setInterval(() => (peak = Math.max(peak, target.bufferedOutput)), 5)
    try {
      for (let i = 0; i < COUNT; i++) {
        if (!ch.publish('', address, BODY)) await new Promise((r) => ch.once('drain', r))
      }
      await ch.waitForConfirms()
    } finally {
      clearInterval(sampler)
    }
    peak = Math.max(peak, target.bufferedOutput)
    assert.ok(peak <= 2 * LIMIT + ONE_REPLY, `the requester's buffered output peaked at ${peak} bytes`)
    await bystanderRoundTrip()
    await conn.close()
    requester.destroy()
  })
})

describe('a consumer without a prefetch limit that never acks', () => {
  test('a paged-out backlog is not pulled into memory whole: unacked bodies stay within the budget', T, async () => {
    const budget = 2 * 1024 * 1024
    const small = await startBroker({ inProcess: true, messageMemoryBudget: budget })
    try {
      const url = small.url
      const conn = await amqp.connect(url)
      const pub = await conn.createConfirmChannel()
      const queue = 'unacked-backlog'
      await pub.assertQueue(queue, { durable: true })
      const total = 10_000
      for (let i = 0; i < total; i++) {
        if (!pub.sendToQueue(queue, BODY, { persistent: true })) await new Promise((r) => pub.once('drain', r))
      }
      await pub.waitForConfirms()
      const q = small.broker.vhosts.get('/')!.queues.get(queue)!
      assert.ok(q.pagedOut > 0, 'part of the backlog is paged out')

      const ch = await conn.createChannel()
      const held: amqp.ConsumeMessage[] = []
      await ch.consume(queue, (m) => m && held.push(m))
      await untilSettled(
        () => held.length,
        () => 0,
      )
      const bound = Math.ceil(budget / BODY.length) + 1
      assert.ok(held.length <= bound, `${held.length} unacked deliveries; the budget holds ${bound}`)
      assert.ok(q.messageCount > 0, 'the rest of the backlog waits in the queue')
      // Acks make room: the rest comes
      ch.ackAll()
      const before = held.length
      await untilSettled(
        () => held.length,
        () => 0,
      )
      assert.ok(held.length > before, 'deliveries resume after the acks')
      await conn.close()
    } finally {
      await small.stop()
    }
  })
})

describe('a message memory budget of 0 (everything paged out)', () => {
  test('consumers still receive: a channel may always hold one unacked delivery', T, async () => {
    const server = await startBroker({ inProcess: true, messageMemoryBudget: 0 })
    try {
      const conn = await amqp.connect(server.url)
      const pub = await conn.createConfirmChannel()
      await pub.assertQueue('budget-0', { durable: true })
      for (let i = 0; i < 5; i++) pub.sendToQueue('budget-0', Buffer.from(`m${i}`), { persistent: true })
      await pub.waitForConfirms()
      const ch = await conn.createChannel()
      const got: string[] = []
      await new Promise<void>((resolve) => {
        void ch.consume('budget-0', (m) => {
          got.push(m!.content.toString())
          ch.ack(m!)
          if (got.length === 5) resolve()
        })
      })
      assert.deepEqual(got, ['m0', 'm1', 'm2', 'm3', 'm4'])
      await conn.close()
    } finally {
      await server.stop()
    }
  })
})
