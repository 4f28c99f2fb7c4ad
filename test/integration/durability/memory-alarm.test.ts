// The memory alarm: above the high watermark a publishing connection gets connection.blocked and is not read
// until memory falls back, when it gets connection.unblocked and what it published goes through.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import amqp from 'amqplib'
import { sleep, withTimeout } from '../../helpers/amqplib.js'
import { startBroker } from '../../helpers/broker.js'

test(
  'publishers are blocked under the memory alarm and unblocked when it clears',
  { timeout: 20_000, skip: process.env['WARREN_TEST_URL'] ? 'drives an in-process broker' : false },
  async () => {
    // A 1-byte watermark: the alarm is on from the start
    const server = await startBroker({ inProcess: true, memoryHighWatermark: 1 })
    try {
      assert.equal(server.broker.memoryAlarm.active, true)
      const url = server.url
      const conn = await amqp.connect(url)
      const events: string[] = []
      const blocked = new Promise<string>((resolve) => conn.on('blocked', (reason: string) => resolve(reason)))
      const unblocked = new Promise<void>((resolve) => conn.on('unblocked', () => resolve()))
      conn.on('blocked', () => events.push('blocked'))
      conn.on('unblocked', () => events.push('unblocked'))
      const ch = await conn.createChannel()
      await ch.assertQueue('alarm', { durable: false })
      ch.sendToQueue('alarm', Buffer.from('first'))
      assert.equal(await withTimeout(blocked, 5000, 'connection.blocked'), 'low on memory')
      ch.sendToQueue('alarm', Buffer.from('while blocked'))

      // A consumer on another connection is not blocked: it can still read the queue
      const other = await amqp.connect(url)
      const reader = await other.createChannel()
      await sleep(200)
      assert.equal((await reader.checkQueue('alarm')).messageCount, 1, 'the blocked publisher is not read')

      server.broker.memoryAlarm.setHighWatermark(Number.MAX_SAFE_INTEGER)
      await withTimeout(unblocked, 5000, 'connection.unblocked')
      for (let i = 0; i < 100 && (await reader.checkQueue('alarm')).messageCount < 2; i++) {
        await sleep(20)
      }
      assert.equal((await reader.checkQueue('alarm')).messageCount, 2, 'what was sent while blocked went through')
      assert.deepEqual(events, ['blocked', 'unblocked'])
      await other.close()
      await conn.close()
    } finally {
      await server.stop()
    }
  },
)

// RabbitMQ blocks a connection when it publishes while an alarm is set (rabbit_reader publish_received), not
// because it published once before: a connection that also consumes keeps acking until it publishes again.
test(
  'a connection that published before the alarm is blocked only when it publishes again; its acks flow until then',
  { timeout: 20_000, skip: process.env['WARREN_TEST_URL'] ? 'drives an in-process broker' : false },
  async () => {
    const server = await startBroker({ inProcess: true })
    try {
      const conn = await amqp.connect(server.url)
      const events: string[] = []
      conn.on('blocked', (reason: string) => events.push(`blocked: ${reason}`))
      conn.on('unblocked', () => events.push('unblocked'))
      const ch = await conn.createChannel()
      await ch.assertQueue('both-ways', { durable: false })
      for (let i = 1; i <= 3; i++) ch.sendToQueue('both-ways', Buffer.from(`m${i}`))
      await ch.prefetch(1)
      const deliveries: amqp.ConsumeMessage[] = []
      let delivered: () => void = () => {}
      await ch.consume('both-ways', (m) => {
        if (m) deliveries.push(m)
        delivered()
      })
      const nextDelivery = (n: number) =>
        withTimeout(
          new Promise<void>((resolve) => {
            delivered = () => deliveries.length >= n && resolve()
            delivered()
          }),
          3000,
          `delivery ${n}`,
        )
      await nextDelivery(1)

      server.broker.memoryAlarm.setHighWatermark(1)
      assert.equal(server.broker.memoryAlarm.active, true)
      // The ack is read and settled: with prefetch 1 the next message only comes after it
      ch.ack(deliveries[0]!)
      await nextDelivery(2)
      ch.ack(deliveries[1]!)
      await nextDelivery(3)
      assert.deepEqual(events, [], 'not blocked while it only consumes and acks')

      const blocked = new Promise<void>((resolve) => conn.once('blocked', () => resolve()))
      ch.sendToQueue('both-ways', Buffer.from('m4'))
      await withTimeout(blocked, 3000, 'connection.blocked after publishing')
      ch.ack(deliveries[2]!)
      // Blocked: the socket is not read, so the ack above does not bring m4
      await sleep(200)
      assert.equal(deliveries.length, 3)

      const unblocked = new Promise<void>((resolve) => conn.once('unblocked', () => resolve()))
      server.broker.memoryAlarm.setHighWatermark(Number.MAX_SAFE_INTEGER)
      await withTimeout(unblocked, 3000, 'connection.unblocked')
      await nextDelivery(4)
      assert.equal(deliveries[3]!.content.toString(), 'm4')
      assert.deepEqual(events, ['blocked: low on memory', 'unblocked'])
      await conn.close()
    } finally {
      await server.stop()
    }
  },
)
