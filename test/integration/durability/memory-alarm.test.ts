// The memory alarm: above the high watermark a publishing connection gets connection.blocked and is not read
// until memory falls back, when it gets connection.unblocked and what it published goes through.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import amqp from 'amqplib'
import { startServer } from '../../../src/server/start.js'
import { withTimeout } from '../../helpers/amqplib.js'

test(
  'publishers are blocked under the memory alarm and unblocked when it clears',
  { timeout: 20_000, skip: process.env['WARREN_TEST_URL'] ? 'drives an in-process broker' : false },
  async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'warren-alarm-'))
    // A 1-byte watermark: the alarm is on from the start
    const server = await startServer({
      port: 0,
      bind: '127.0.0.1',
      dataDir,
      logLevel: 'silent',
      memoryHighWatermark: 1,
    })
    try {
      assert.equal(server.broker.memoryAlarm.active, true)
      const url = `amqp://guest:guest@127.0.0.1:${server.port}/`
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
      await new Promise((r) => setTimeout(r, 200))
      assert.equal((await reader.checkQueue('alarm')).messageCount, 1, 'the blocked publisher is not read')

      server.broker.memoryAlarm.setHighWatermark(Number.MAX_SAFE_INTEGER)
      await withTimeout(unblocked, 5000, 'connection.unblocked')
      for (let i = 0; i < 100 && (await reader.checkQueue('alarm')).messageCount < 2; i++) {
        await new Promise((r) => setTimeout(r, 20))
      }
      assert.equal((await reader.checkQueue('alarm')).messageCount, 2, 'what was sent while blocked went through')
      assert.deepEqual(events, ['blocked', 'unblocked'])
      await other.close()
      await conn.close()
    } finally {
      await server.stop()
      await rm(dataDir, { recursive: true, force: true })
    }
  },
)
