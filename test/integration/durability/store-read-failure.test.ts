// A paged-out message that can no longer be read (its segment file damaged under the running broker) is
// logged as an error; the broker does not crash and other queues carry on.
import assert from 'node:assert/strict'
import { readdirSync, truncateSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import amqp from 'amqplib'
import { sleep } from '../../helpers/amqplib.js'
import { startBroker } from '../../helpers/broker.js'

test(
  'an unreadable paged-out message does not bring the broker down',
  { timeout: 20_000, skip: process.env['WARREN_TEST_URL'] ? 'damages an in-process broker' : false },
  async () => {
    // A zero budget: every persistent message of a durable queue lives only in the store
    const server = await startBroker({ inProcess: true, messageMemoryBudget: 0 })
    try {
      const conn = await amqp.connect(server.url)
      const ch = await conn.createConfirmChannel()
      await ch.assertQueue('damaged', { durable: true })
      await ch.assertQueue('healthy', { durable: false })
      for (let i = 0; i < 5; i++) ch.sendToQueue('damaged', Buffer.from(`m${i}`), { persistent: true })
      await ch.waitForConfirms()
      const queue = server.broker.vhosts.get('/')!.queues.get('damaged')!
      assert.equal(queue.pagedOut, 5)
      for (const file of readdirSync(queue.store!.dir)) {
        if (file.startsWith('msgs.')) truncateSync(join(queue.store!.dir, file), 0)
      }
      // Delivery of the damaged queue fails inside the broker...
      const consumer = await conn.createChannel()
      await consumer.consume('damaged', () => {}, { noAck: true })
      await sleep(200)
      // ...and everything else still works
      const other = await conn.createChannel()
      other.sendToQueue('healthy', Buffer.from('still here'))
      let got: amqp.GetMessage | false = false
      for (let i = 0; i < 50 && !got; i++) {
        got = await other.get('healthy', { noAck: true })
        if (!got) await sleep(20)
      }
      assert.ok(got, 'the broker still routes and delivers')
      assert.equal(got.content.toString(), 'still here')
      await conn.close()
    } finally {
      await server.stop()
    }
  },
)
