// Persistent messages in durable queues survive a restart; transient ones do not; a queue longer than the
// memory budget pages its messages out to the store and still delivers all of them, in order.
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import amqp from 'amqplib'
import { TEST_TIMEOUT, openChannel, openConfirmChannel, sleep } from '../../helpers/amqplib.js'
import { startBroker, type InProcessBroker } from '../../helpers/broker.js'

const inProcessOnly = { skip: process.env['WARREN_TEST_URL'] ? 'restarts an in-process broker' : false }

/** Consumes `count` messages of a queue, acking each after `check(m, n)` (n: its place in delivery order). */
function consumeChecked(
  channel: amqp.Channel,
  queue: string,
  count: number,
  check: (m: amqp.ConsumeMessage, n: number) => void,
): Promise<void> {
  let next = 0
  return new Promise<void>((resolve, reject) => {
    void channel.consume(queue, (m) => {
      if (!m) return reject(new Error('cancelled'))
      try {
        check(m, next)
      } catch (err) {
        reject(err)
        return
      }
      channel.ack(m)
      if (++next === count) resolve()
    })
  })
}

describe('persistent messages across a restart', inProcessOnly, () => {
  // One data directory for every test of the file: each test restarts the broker of the one before
  let server: InProcessBroker | undefined

  /** A broker on the data directory of the last one (stopped if it still runs), or a first broker. */
  const start = (messageMemoryBudget?: number): Promise<InProcessBroker> =>
    server ? server.restart({ messageMemoryBudget }) : startBroker({ inProcess: true, messageMemoryBudget })

  after(async () => {
    await server?.stop()
  })

  test('what survives: persistent messages of durable queues, with their properties', TEST_TIMEOUT, async () => {
    server = await start()
    let conn = await amqp.connect(server.url)
    const ch = await openConfirmChannel(conn)
    await ch.assertQueue('keep', { durable: true })
    await ch.assertQueue('lose', { durable: false })
    const props = { persistent: true, headers: { k: 'v', n: 7 }, correlationId: 'c1', contentType: 'text/plain' }
    for (const q of ['keep', 'lose']) {
      ch.sendToQueue(q, Buffer.from('persistent-1'), props)
      ch.sendToQueue(q, Buffer.from('transient'), { persistent: false })
      ch.sendToQueue(q, Buffer.from('persistent-2'), { persistent: true })
      ch.sendToQueue(q, Buffer.from('acked'), { persistent: true })
    }
    await ch.waitForConfirms()
    // Ack one message and leave one delivered but unacked
    const consumer = await openChannel(conn)
    const first = await consumer.get('keep', { noAck: false })
    assert.ok(first)
    assert.equal(first.content.toString(), 'persistent-1')
    await conn.close() // the unacked persistent-1 goes back, redelivered
    conn = await amqp.connect(server.url)
    const ch2 = await openChannel(conn)
    const messages = []
    for (let m = await ch2.get('keep'); m; m = await ch2.get('keep')) messages.push(m)
    assert.deepEqual(
      messages.map((m) => m.content.toString()),
      ['persistent-1', 'transient', 'persistent-2', 'acked'],
    )
    ch2.ack(messages[3]!) // 'acked'
    ch2.nackAll(true)
    await ch2.close() // amqplib may send connection.close ahead of a channel's frames: close the channel first
    await conn.close()
    await server.stop({ keepDataDir: true })

    server = await start()
    conn = await amqp.connect(server.url)
    const after = await openChannel(conn)
    await assert.rejects(after.checkQueue('lose'), /404/)
    const check = await openChannel(conn)
    const q = await check.checkQueue('keep')
    assert.equal(q.messageCount, 2, 'the transient message and the acked one are gone')
    const a = await check.get('keep', { noAck: true })
    const b = await check.get('keep', { noAck: true })
    assert.ok(a && b)
    assert.equal(a.content.toString(), 'persistent-1')
    assert.equal(a.fields.redelivered, true, 'it had been delivered before the shutdown')
    assert.deepEqual(a.properties.headers, { k: 'v', n: 7 })
    assert.equal(a.properties.correlationId, 'c1')
    assert.equal(a.properties.contentType, 'text/plain')
    assert.equal(a.properties.deliveryMode, 2)
    assert.equal(b.content.toString(), 'persistent-2')
    assert.equal(b.fields.redelivered, true, 'requeued by the nack before the shutdown')
    await conn.close()
  })

  test('a message TTL keeps counting from the publish across a restart', TEST_TIMEOUT, async () => {
    server = await start()
    let conn = await amqp.connect(server.url)
    const ch = await openConfirmChannel(conn)
    await ch.assertQueue('ttl', { durable: true })
    ch.sendToQueue('ttl', Buffer.from('short'), { persistent: true, expiration: '800' })
    ch.sendToQueue('ttl', Buffer.from('long'), { persistent: true, expiration: '60000' })
    await ch.waitForConfirms()
    await conn.close()
    await server.stop({ keepDataDir: true })
    await sleep(1000) // 'short' expires while the broker is down
    server = await start()
    conn = await amqp.connect(server.url)
    const check = await openChannel(conn)
    const m = await check.get('ttl', { noAck: true })
    assert.ok(m)
    assert.equal(m.content.toString(), 'long', 'the expired message is not delivered after the restart')
    assert.equal(await check.get('ttl', { noAck: true }), false)
    await conn.close()
  })

  test('a queue beyond the memory budget pages out and delivers everything in order', TEST_TIMEOUT, async () => {
    // A 64 KiB budget: most of 2000 one-kilobyte messages live only in the store
    server = await start(64 * 1024)
    const conn = await amqp.connect(server.url)
    const ch = await openConfirmChannel(conn)
    await ch.assertQueue('long', { durable: true })
    const body = (i: number) => Buffer.concat([Buffer.from(`${i}:`), Buffer.alloc(1024, i % 251)])
    for (let i = 0; i < 2000; i++) ch.sendToQueue('long', body(i), { persistent: true })
    await ch.waitForConfirms()
    const queue = server.broker.vhosts.get('/')!.queues.get('long')!
    assert.ok(queue.pagedOut > 1500, `most messages are paged out (${queue.pagedOut})`)
    assert.ok(server.broker.vhosts.get('/')!.memory.used <= 64 * 1024 + 1100, 'memory stays within the budget')
    // Recovery keeps the budget too: after a restart most messages are still only in the store
    await conn.close()
    await server.stop({ keepDataDir: true })
    server = await start(64 * 1024)
    const recovered = server.broker.vhosts.get('/')!.queues.get('long')!
    assert.equal(recovered.messageCount, 2000)
    assert.ok(recovered.pagedOut > 1500, `most recovered messages stay paged out (${recovered.pagedOut})`)
    const conn2 = await amqp.connect(server.url)
    const consumer = await openChannel(conn2)
    await consumer.prefetch(100)
    await consumeChecked(consumer, 'long', 2000, (m, n) =>
      assert.ok(m.content.equals(body(n)), `message ${n} intact and in order`),
    )
    assert.equal(recovered.pagedOut, 0)
    await conn2.close()
  })

  test('a priority queue beyond the memory budget pages out too, and delivers by priority', TEST_TIMEOUT, async () => {
    server = await start(64 * 1024)
    const conn = await amqp.connect(server.url)
    const ch = await openConfirmChannel(conn)
    await ch.assertQueue('prio-long', { durable: true, arguments: { 'x-max-priority': 3 } })
    const body = (i: number) => Buffer.concat([Buffer.from(`${i}:`), Buffer.alloc(1024, i % 251)])
    for (let i = 0; i < 2000; i++) ch.sendToQueue('prio-long', body(i), { persistent: true, priority: i % 4 })
    await ch.waitForConfirms()
    const queue = server.broker.vhosts.get('/')!.queues.get('prio-long')!
    assert.ok(queue.pagedOut > 1500, `most messages are paged out (${queue.pagedOut})`)
    await conn.close()
    await server.stop({ keepDataDir: true })
    server = await start(64 * 1024)
    const recovered = server.broker.vhosts.get('/')!.queues.get('prio-long')!
    assert.ok(recovered.pagedOut > 1500, `most recovered messages stay paged out (${recovered.pagedOut})`)
    // Highest priority first, each level in publish order
    const expected: number[] = []
    for (let p = 3; p >= 0; p--) for (let i = p; i < 2000; i += 4) expected.push(i)
    const conn2 = await amqp.connect(server.url)
    const consumer = await openChannel(conn2)
    await consumer.prefetch(100)
    await consumeChecked(consumer, 'prio-long', 2000, (m, n) => {
      assert.ok(m.content.equals(body(expected[n]!)), `delivery ${n} is message ${expected[n]}`)
      assert.equal(m.properties.priority, expected[n]! % 4)
    })
    assert.equal(recovered.pagedOut, 0)
    await conn2.close()
  })
})
