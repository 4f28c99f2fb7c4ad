// Queue arguments RabbitMQ clients rely on: message TTL (queue and per-message), queue expiry, max length
// (drop-head, reject-publish, bytes), dead-lettering with its x-death headers, priorities, single active
// consumer, and validation of the argument values.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import type { Channel } from 'amqplib'
import { startBroker, type TestBroker } from '../../helpers/broker.js'
import {
  Scope,
  TEST_TIMEOUT,
  consume,
  drain,
  eventually,
  expectChannelError,
  openChannel,
  sendAll,
  sleep,
  waitForMessageCount,
} from '../../helpers/amqplib.js'

describe('amqplib: queue arguments', () => {
  let broker: TestBroker
  let scope: Scope

  before(async () => {
    broker = await startBroker()
    scope = new Scope(broker.url, 'qargs')
  })
  after(async () => {
    await scope.cleanup()
    await broker.stop()
  })

  /** A direct exchange and a queue bound to it with key 'dead', to receive dead letters. */
  async function deadLetterTarget(ch: Channel, key = 'dead'): Promise<{ dlx: string; dlq: string }> {
    const dlx = scope.exchange('dlx')
    const dlq = scope.queue('dlq')
    await ch.assertExchange(dlx, 'direct', { durable: false })
    await ch.assertQueue(dlq, { durable: false })
    await ch.bindQueue(dlq, dlx, key)
    return { dlx, dlq }
  }

  const xDeath = (queue: string, reason: string, extra: Record<string, unknown> = {}, count = 1) => ({
    count,
    reason,
    queue,
    time: { '!': 'timestamp', value: 0 },
    exchange: '',
    'routing-keys': [queue],
    ...extra,
  })

  /** x-death entries with the time replaced by 0, after checking it is a plausible timestamp. */
  function normalizeDeaths(headers: Record<string, unknown> | undefined): Record<string, unknown> {
    const h = { ...(headers ?? {}) }
    const deaths = h['x-death'] as Array<Record<string, unknown>>
    assert.ok(Array.isArray(deaths), 'x-death is an array')
    h['x-death'] = deaths.map((d) => {
      const time = d['time'] as { '!': string; value: number }
      assert.equal(time['!'], 'timestamp')
      assert.ok(Math.abs(time.value - Date.now() / 1000) < 600, 'x-death time is "now", in seconds')
      return { ...d, time: { '!': 'timestamp', value: 0 } }
    })
    return h
  }

  test('x-message-ttl: messages expire in the queue', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false, messageTtl: 100 })
    ch.sendToQueue(q, Buffer.from('short-lived'))
    await waitForMessageCount(ch, q, 1)
    await eventually(async () => (await ch.checkQueue(q)).messageCount === 0, 'the message to expire')
    assert.equal(await ch.get(q), false)
    await conn.close()
  })

  test('per-message expiration, and the lower of it and the queue TTL wins', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false, messageTtl: 60_000 })
    ch.sendToQueue(q, Buffer.from('expires'), { expiration: '100' })
    ch.sendToQueue(q, Buffer.from('stays'), { expiration: '60000' })
    ch.sendToQueue(q, Buffer.from('stays too'))
    await waitForMessageCount(ch, q, 3)
    await sleep(250)
    assert.deepEqual(await drain(ch, q), ['stays', 'stays too'])
    await conn.close()
  })

  test("expiration '0' delivers to a waiting consumer, otherwise expires at once", TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const idle = scope.queue()
    const busy = scope.queue()
    await ch.assertQueue(idle, { durable: false })
    await ch.assertQueue(busy, { durable: false })
    const { inbox } = await consume(ch, busy, { noAck: true })
    ch.sendToQueue(idle, Buffer.from('nobody waiting'), { expiration: '0' })
    ch.sendToQueue(busy, Buffer.from('consumer waiting'), { expiration: '0' })
    const [m] = await inbox.waitFor(1)
    assert.equal(m!.properties.expiration, '0')
    await sleep(50)
    assert.equal((await ch.checkQueue(idle)).messageCount, 0)
    await conn.close()
  })

  test('x-expires: an unused queue is deleted', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false, expires: 200 })
    // do not poll: every queue.declare, passive ones included, renews the lease
    await sleep(600)
    await expectChannelError(ch, ch.checkQueue(q), { code: 404, text: `NOT_FOUND - no queue '${q}' in vhost '/'` })
    await conn.close()
  })

  test('x-expires: a passive declare or basic.get renews the lease', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    const g = scope.queue()
    await ch.assertQueue(q, { durable: false, expires: 300 })
    await ch.assertQueue(g, { durable: false, expires: 300 })
    for (let i = 0; i < 6; i++) {
      await sleep(100)
      await ch.checkQueue(q)
      assert.equal(await ch.get(g), false)
    }
    // 600 ms have passed, twice the expiry, and both are still there
    assert.equal((await ch.checkQueue(q)).queue, q)
    assert.equal((await ch.checkQueue(g)).queue, g)
    await conn.close()
  })

  test('x-max-length drops from the head', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false, maxLength: 2 })
    sendAll(ch, q, ['1', '2', '3', '4'])
    await sleep(50)
    await waitForMessageCount(ch, q, 2)
    assert.deepEqual(await drain(ch, q), ['3', '4'])
    await conn.close()
  })

  test('x-max-length-bytes counts body bytes', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length-bytes': 10 } })
    sendAll(ch, q, ['aaaa', 'bbbb', 'cccc', 'dddd'])
    await sleep(50)
    await waitForMessageCount(ch, q, 2)
    assert.deepEqual(await drain(ch, q), ['cccc', 'dddd'])
    await conn.close()
  })

  test('x-overflow reject-publish keeps the oldest messages', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false, maxLength: 2, overflow: 'reject-publish' })
    sendAll(ch, q, ['1', '2', '3'])
    await sleep(50)
    await waitForMessageCount(ch, q, 2)
    assert.deepEqual(await drain(ch, q), ['1', '2'])
    await conn.close()
  })

  test('rejected messages are dead-lettered with x-death headers', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const { dlx, dlq } = await deadLetterTarget(ch, 'src-key')
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false, deadLetterExchange: dlx, deadLetterRoutingKey: 'src-key' })
    ch.sendToQueue(q, Buffer.from('bad'), { headers: { mine: 'kept' }, messageId: 'id-1' })
    await waitForMessageCount(ch, q, 1)
    const m = await ch.get(q)
    assert.ok(m)
    ch.reject(m, false)
    await waitForMessageCount(ch, dlq, 1)
    const dead = await ch.get(dlq, { noAck: true })
    assert.ok(dead)
    assert.equal(dead.content.toString(), 'bad')
    assert.equal(dead.fields.exchange, dlx)
    assert.equal(dead.fields.routingKey, 'src-key', 'x-dead-letter-routing-key replaces the routing key')
    assert.equal(dead.fields.redelivered, false)
    assert.equal(dead.properties.messageId, 'id-1')
    assert.deepEqual(normalizeDeaths(dead.properties.headers), {
      mine: 'kept',
      'x-death': [xDeath(q, 'rejected')],
      'x-first-death-exchange': '',
      'x-first-death-queue': q,
      'x-first-death-reason': 'rejected',
    })
    await conn.close()
  })

  test(
    'dead-lettering the same message again from the same queue increments the x-death count',
    TEST_TIMEOUT,
    async () => {
      const { conn, ch } = await scope.open()
      const q = scope.queue()
      const { dlx, dlq } = await deadLetterTarget(ch, q)
      await ch.assertQueue(q, { durable: false, deadLetterExchange: dlx })
      ch.sendToQueue(q, Buffer.from('twice'))
      await waitForMessageCount(ch, q, 1)
      let m = await ch.get(q)
      assert.ok(m)
      ch.nack(m, false, false)
      await waitForMessageCount(ch, dlq, 1)
      const first = await ch.get(dlq, { noAck: true })
      assert.ok(first)
      // send it back with the headers it got, and dead-letter it again
      ch.sendToQueue(q, first.content, { headers: first.properties.headers })
      await waitForMessageCount(ch, q, 1)
      m = await ch.get(q)
      assert.ok(m)
      ch.nack(m, false, false)
      await waitForMessageCount(ch, dlq, 1)
      const second = await ch.get(dlq, { noAck: true })
      assert.ok(second)
      assert.deepEqual(normalizeDeaths(second.properties.headers), {
        'x-death': [xDeath(q, 'rejected', {}, 2)],
        'x-first-death-exchange': '',
        'x-first-death-queue': q,
        'x-first-death-reason': 'rejected',
      })
      await conn.close()
    },
  )

  test('expired messages are dead-lettered; the expiration moves into x-death', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    const { dlx, dlq } = await deadLetterTarget(ch, q)
    await ch.assertQueue(q, { durable: false, deadLetterExchange: dlx })
    ch.sendToQueue(q, Buffer.from('old'), { expiration: '50' })
    await waitForMessageCount(ch, dlq, 1)
    const dead = await ch.get(dlq, { noAck: true })
    assert.ok(dead)
    assert.equal(dead.properties.expiration, undefined, 'the expiration property is removed')
    assert.equal(dead.fields.routingKey, q, 'without x-dead-letter-routing-key the original key is kept')
    assert.deepEqual(normalizeDeaths(dead.properties.headers), {
      'x-death': [xDeath(q, 'expired', { 'original-expiration': '50' })],
      'x-first-death-exchange': '',
      'x-first-death-queue': q,
      'x-first-death-reason': 'expired',
    })
    await conn.close()
  })

  test('messages dropped by x-max-length are dead-lettered with reason maxlen', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    const { dlx, dlq } = await deadLetterTarget(ch, q)
    await ch.assertQueue(q, { durable: false, deadLetterExchange: dlx, maxLength: 1 })
    sendAll(ch, q, ['first', 'second'])
    await waitForMessageCount(ch, dlq, 1)
    const dead = await ch.get(dlq, { noAck: true })
    assert.ok(dead)
    assert.equal(dead.content.toString(), 'first')
    assert.equal(normalizeDeaths(dead.properties.headers)['x-first-death-reason'], 'maxlen')
    assert.deepEqual(await drain(ch, q), ['second'])
    await conn.close()
  })

  test(
    'x-max-priority: higher priorities first, FIFO within a priority, capped at the maximum',
    TEST_TIMEOUT,
    async () => {
      const { conn, ch } = await scope.open()
      const q = scope.queue()
      await ch.assertQueue(q, { durable: false, maxPriority: 5 })
      const sends: Array<[string, number | undefined]> = [
        ['p1', 1],
        ['p5', 5],
        ['none', undefined],
        ['p3', 3],
        ['p9', 9],
        ['p3b', 3],
      ]
      for (const [body, priority] of sends) {
        ch.sendToQueue(q, Buffer.from(body), priority === undefined ? {} : { priority })
      }
      await waitForMessageCount(ch, q, sends.length)
      // 9 counts as 5 (the maximum) and keeps its place after the earlier p5
      assert.deepEqual(await drain(ch, q), ['p5', 'p9', 'p3', 'p3b', 'p1', 'none'])
      await conn.close()
    },
  )

  test('x-single-active-consumer: one consumer at a time, the next takes over', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false, arguments: { 'x-single-active-consumer': true } })
    const c = await openChannel(conn)
    const a = await consume(c, q, { noAck: true })
    const b = await consume(c, q, { noAck: true })
    sendAll(ch, q, ['1', '2', '3'])
    await a.inbox.waitFor(3)
    assert.equal(b.inbox.messages.length, 0)
    await c.cancel(a.consumerTag)
    sendAll(ch, q, ['4', '5'])
    await b.inbox.waitFor(2)
    assert.deepEqual(b.inbox.bodies(), ['4', '5'])
    await conn.close()
  })

  test('invalid argument values: 406 with the reason', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ 'x-message-ttl': -1 }, 'x-message-ttl', '{value_negative,-1}'],
      [{ 'x-expires': 0 }, 'x-expires', '{value_zero,0}'],
      [{ 'x-max-length': 'ten' }, 'x-max-length', '"expected integer, got longstr"'],
      [{ 'x-overflow': 'explode' }, 'x-overflow', 'invalid_overflow'],
      [{ 'x-max-priority': 300 }, 'x-max-priority', '{max_value_exceeded,300}'],
    ]
    for (const [args, name, reason] of cases) {
      const q = scope.queue()
      const ch = await openChannel(conn)
      await expectChannelError(ch, ch.assertQueue(q, { durable: false, arguments: args }), {
        code: 406,
        text: `PRECONDITION_FAILED - invalid arg '${name}' for queue '${q}' in vhost '/': ${reason}`,
        classId: 50,
        methodId: 10,
      })
    }
    await conn.close()
  })
})
