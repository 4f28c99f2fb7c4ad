// The disk alarm end to end: with the data directory on a small tmpfs, persistent publishes fill it until
// free space drops under --disk-free-limit; the publishing connection then gets connection.blocked and is not
// read, while a consumer on another connection keeps receiving and acking. Deleting the queue frees the
// space: the publisher gets connection.unblocked and what it sent goes through. With the memory alarm set
// too, publishers stay blocked until both have cleared.
import assert from 'node:assert/strict'
import { statfs } from 'node:fs/promises'
import { test } from 'node:test'
import amqp from 'amqplib'
import { eventually, sleep, withTimeout } from '../../helpers/amqplib.js'
import { startBroker, type InProcessBroker } from '../../helpers/broker.js'
import { mountTmpfs, unmountTmpfs } from '../../helpers/tmpfs.js'

const skip = process.env['WARREN_TEST_URL'] ? 'drives an in-process broker' : false

test(
  'a filling disk blocks the publisher, consumers keep draining, freeing space unblocks it',
  { timeout: 30_000, skip },
  async (t) => {
    const dataDir = await mountTmpfs(t, '8m')
    if (dataDir === null) return
    let server: InProcessBroker | undefined
    try {
      const { bavail, bsize } = await statfs(dataDir)
      // Room for about 1.5 MB of messages before the alarm, far from filling the 8 MB file system
      const limit = bavail * bsize - 1_500_000
      server = await startBroker({ inProcess: true, dataDir, diskFreeLimit: limit })
      const diskAlarm = server.broker.diskAlarm
      diskAlarm.setCheckIntervals(20, 50)
      await diskAlarm.check()
      assert.equal(diskAlarm.active, false, `${diskAlarm.free} bytes free, limit ${limit}`)
      const url = server.url

      const consumerConn = await amqp.connect(url)
      const consumerEvents: string[] = []
      consumerConn.on('blocked', () => consumerEvents.push('blocked'))
      const consumer = await consumerConn.createChannel()
      await consumer.assertQueue('fill', { durable: true })

      const publisherConn = await amqp.connect(url)
      const blocked = new Promise<string>((resolve) => publisherConn.once('blocked', resolve))
      const unblocked = new Promise<void>((resolve) => publisherConn.once('unblocked', () => resolve()))
      const publisher = await publisherConn.createConfirmChannel()
      const body = Buffer.alloc(64 * 1024, 'x')
      let sent = 0
      let confirmed = 0
      let nacked = 0
      const publish = (queue = 'fill') =>
        publisher.sendToQueue(queue, body, { persistent: true }, (err) => (err ? nacked++ : confirmed++))
      let isBlocked = false
      void blocked.then(() => (isBlocked = true))
      // Four messages at a time, then a pause for the alarm's check, until connection.blocked arrives
      while (!isBlocked) {
        assert.ok(sent < 60, `blocked before ${sent} messages (3.9 MB) were sent`)
        for (let i = 0; i < 4; i++, sent++) publish()
        await Promise.race([publisher.waitForConfirms(), blocked])
        await sleep(60)
      }
      assert.equal(await blocked, 'low on disk')
      assert.equal(diskAlarm.active, true)
      assert.equal(nacked, 0, 'the alarm came before the disk was full')
      t.diagnostic(`blocked after ${sent} messages of 64 KiB (${confirmed} confirmed), ${diskAlarm.free} bytes free`)
      // Publishes read before the block (the rest of the last batch may have been) are confirmed even so
      const queue = server.broker.vhosts.get('/')!.queues.get('fill')!
      await eventually(
        () => confirmed === queue.messageCount,
        () => `confirms for the ${queue.messageCount} messages read (got ${confirmed})`,
      )
      const readBeforeBlock = confirmed

      // Sent while blocked: not read, so not confirmed
      publish()
      sent++
      // The consumer, on another connection, keeps draining: with a prefetch of 2 every delivery after the
      // second needs an ack read and settled by the broker. It acks ten, then leaves the rest for the purge.
      await consumer.prefetch(2)
      let received = 0
      await consumer.consume('fill', (m) => {
        if (!m) return
        if (++received <= 10) consumer.ack(m)
      })
      await eventually(
        () => received >= 12,
        () => `12 deliveries to the consumer (got ${received})`,
      )
      await consumer.close() // the two unacked deliveries go back to the queue
      assert.equal(confirmed, readBeforeBlock, 'nothing more was read from the blocked publisher')
      assert.equal(diskAlarm.active, true, 'acks alone free no space: the segment being written stays')

      // Deleting the queue removes its files: the space comes back and the alarm clears. (A purge would not
      // do here: the segment being written is only deleted once the queue has moved on to the next one.)
      const admin = await consumerConn.createChannel()
      const { messageCount } = await admin.deleteQueue('fill')
      assert.equal(messageCount, readBeforeBlock - 10)
      await withTimeout(unblocked, 5000, 'connection.unblocked')
      assert.equal(diskAlarm.active, false)
      // What was sent while blocked is read now (to a queue that is gone: confirmed as unroutable), and
      // publishing goes on
      await admin.assertQueue('after', { durable: true })
      for (let i = 0; i < 4; i++, sent++) publish('after')
      await withTimeout(publisher.waitForConfirms(), 5000, 'confirms after the alarm cleared')
      assert.equal(confirmed + nacked, sent, 'every publish was confirmed')
      assert.equal((await admin.checkQueue('after')).messageCount, 4)
      assert.equal(nacked, 0)
      assert.deepEqual(consumerEvents, [], 'the consuming connection was never blocked')
      await publisherConn.close()
      await consumerConn.close()
    } finally {
      try {
        await server?.stop()
      } finally {
        await unmountTmpfs(dataDir)
      }
    }
  },
)

test(
  'with the memory and the disk alarm set, publishers are unblocked only when both clear',
  { timeout: 20_000, skip },
  async () => {
    // A 1-byte watermark and a limit no disk meets: both alarms are set from the start
    const server = await startBroker({
      inProcess: true,
      memoryHighWatermark: 1,
      diskFreeLimit: Number.MAX_SAFE_INTEGER,
    })
    try {
      await server.broker.diskAlarm.check()
      assert.equal(server.broker.diskAlarm.active, true)
      assert.equal(server.broker.memoryAlarm.active, true)
      const url = server.url
      const conn = await amqp.connect(url)
      const events: string[] = []
      conn.on('blocked', (reason: string) => events.push(`blocked: ${reason}`))
      conn.on('unblocked', () => events.push('unblocked'))
      const blocked = new Promise<void>((resolve) => conn.once('blocked', () => resolve()))
      const unblocked = new Promise<void>((resolve) => conn.once('unblocked', () => resolve()))
      const ch = await conn.createChannel()
      await ch.assertQueue('both', { durable: false })
      ch.sendToQueue('both', Buffer.from('first'))
      await withTimeout(blocked, 5000, 'connection.blocked')
      ch.sendToQueue('both', Buffer.from('while blocked'))

      const other = await amqp.connect(url)
      const reader = await other.createChannel()
      server.broker.memoryAlarm.setHighWatermark(Number.MAX_SAFE_INTEGER)
      await sleep(300)
      assert.deepEqual(events, ['blocked: low on disk & memory'], 'still blocked by the disk alarm')
      assert.equal((await reader.checkQueue('both')).messageCount, 1, 'the blocked publisher is not read')

      await server.broker.diskAlarm.setLimit(0)
      await withTimeout(unblocked, 5000, 'connection.unblocked')
      await eventually(
        async () => (await reader.checkQueue('both')).messageCount === 2,
        'what was sent while blocked to go through',
      )
      assert.deepEqual(events, ['blocked: low on disk & memory', 'unblocked'])
      await other.close()
      await conn.close()
    } finally {
      await server.stop()
    }
  },
)
