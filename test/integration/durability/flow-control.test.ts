// Flow control: a publisher that outruns the consumers of a queue is read more slowly, so the queue's
// backlog stays near its high mark instead of growing with everything the publisher sends.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import amqp from 'amqplib'
import { startBroker } from '../../helpers/broker.js'

test(
  'a fast publisher is slowed to the pace of a queue’s consumers; nothing is lost',
  { timeout: 60_000, skip: process.env['WARREN_TEST_URL'] ? 'inspects an in-process broker' : false },
  async (t) => {
    const server = await startBroker({ inProcess: true })
    const url = server.url
    try {
      const total = 40_000
      const consumerConn = await amqp.connect(url)
      const consumer = await consumerConn.createChannel()
      await consumer.assertQueue('flow', { durable: false })
      await consumer.prefetch(1) // one message at a time: a consumer much slower than the publisher
      let received = 0
      const allReceived = new Promise<void>((resolve) => {
        void consumer.consume('flow', (m) => {
          if (!m) return
          consumer.ack(m)
          if (++received === total) resolve()
        })
      })
      const queue = server.broker.vhosts.get('/')!.queues.get('flow')!
      let maxBacklog = 0
      const sampler = setInterval(() => (maxBacklog = Math.max(maxBacklog, queue.messageCount)), 5)

      const publisherConn = await amqp.connect(url)
      const publisher = await publisherConn.createChannel()
      const body = Buffer.alloc(64)
      for (let i = 0; i < total; i++) {
        if (!publisher.sendToQueue('flow', body)) await new Promise((r) => publisher.once('drain', r))
      }
      await allReceived
      clearInterval(sampler)
      assert.equal(received, total)
      t.diagnostic(`largest backlog seen: ${maxBacklog} messages`)
      // Unthrottled, the backlog reaches most of the 40,000; throttled it stays near the 2,000 high mark
      assert.ok(maxBacklog < 15_000, `the backlog stayed bounded (max ${maxBacklog})`)
      await publisher.close()
      await publisherConn.close()
      await consumerConn.close()
    } finally {
      await server.stop()
    }
  },
)
