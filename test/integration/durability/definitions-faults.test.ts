// Faults of definitions.log seen from clients, on a data directory that is a small, full tmpfs: a durable
// declare, bind or delete whose definition cannot be written is a channel error (506 RESOURCE_ERROR), with
// nothing changed and the connection alive; a broker restarted on the still full disk starts and recovers
// every confirmed message; once space is free, durable declares work again without a restart.
// Warren-only: the fault is a tmpfs mounted as the data directory of a broker process.
import assert from 'node:assert/strict'
import { closeSync, openSync, writeSync } from 'node:fs'
import { rm, stat, truncate } from 'node:fs/promises'
import { join } from 'node:path'
import { after, test } from 'node:test'
import type { ChannelModel, ConfirmChannel } from 'amqplib'
import {
  connect,
  eventually,
  openChannel,
  openConfirmChannel,
  replyText,
  type AmqpError,
} from '../../helpers/amqplib.js'
import { startBrokerProcess, stopAllBrokerProcesses } from '../../helpers/broker-process.js'
import { mountTmpfs, unmountAllTmpfs, unmountTmpfs } from '../../helpers/tmpfs.js'

const WARREN_ONLY = process.env['WARREN_TEST_URL'] ? 'mounts a tmpfs as the data directory of a Warren process' : false

after(async () => {
  await stopAllBrokerProcesses()
  await unmountAllTmpfs()
})

const smallFileSystem = (t: { skip(message: string): void }) => mountTmpfs(t, '4m')

/** Writes a file until the file system has not one byte left. */
function fillUp(path: string): void {
  const fd = openSync(path, 'w')
  try {
    for (const size of [1 << 20, 1 << 12, 1]) {
      const chunk = Buffer.alloc(size, 0x2e)
      try {
        for (;;) writeSync(fd, chunk)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
      }
    }
  } finally {
    closeSync(fd)
  }
}

/** A persistent publish; resolves true when acked, false when nacked. */
function publish(ch: ConfirmChannel, exchange: string, key: string, body: string): Promise<boolean> {
  return new Promise((resolve) => {
    ch.publish(exchange, key, Buffer.from(body), { persistent: true }, (err) =>
      resolve(err === null || err === undefined),
    )
  })
}

/** Runs an operation on a channel of its own; resolves with its error (undefined if it succeeded). */
async function attempt(
  conn: ChannelModel,
  op: (ch: ConfirmChannel) => Promise<unknown>,
): Promise<AmqpError | undefined> {
  const ch = await openConfirmChannel(conn)
  try {
    await op(ch)
  } catch (error) {
    return error as AmqpError
  }
  await ch.close()
  return undefined
}

function assertRefused(error: AmqpError | undefined, text: RegExp, what: string): void {
  assert.ok(error, `${what}: refused`)
  assert.equal(error.code, 506, `${what}: ${error.message}`)
  assert.match(replyText(error) ?? '', text, what)
}

async function exists(conn: ChannelModel, kind: 'queue' | 'exchange', name: string): Promise<boolean> {
  const error = await attempt(conn, (ch) => (kind === 'queue' ? ch.checkQueue(name) : ch.checkExchange(name)))
  if (error && error.code !== 404) throw error
  return error === undefined
}

async function messageCount(conn: ChannelModel, queue: string): Promise<number> {
  const ch = await openChannel(conn)
  const { messageCount } = await ch.checkQueue(queue)
  await ch.close()
  return messageCount
}

test(
  'a full disk (tmpfs): durable declares, binds and deletes get 506, a restart on the full disk recovers everything, declares work again once space is free',
  { timeout: 60_000, skip: WARREN_ONLY },
  async (t) => {
    const dataDir = await smallFileSystem(t)
    if (dataDir === null) return
    try {
      let broker = await startBrokerProcess({ dataDir, args: ['--disk-free-limit', '0'] })
      let conn = await connect(broker.url)
      const ch = await openConfirmChannel(conn)
      await ch.assertExchange('orders', 'direct', { durable: true })
      await ch.assertQueue('kept-queue', { durable: true })
      await ch.bindQueue('kept-queue', 'orders', 'k')
      // Definitions worth a few pages of tmpfs (rewriting them at start needs more than one page), and
      // exchanges whose deletions are short lines, to fill definitions.log's last page once the disk is full
      for (let i = 0; i < 60; i++) await ch.assertExchange(`padding-exchange-${i}`, 'topic', { durable: true })
      const padding = Array.from({ length: 80 }, (_, i) => `p${String(i).padStart(2, '0')}`)
      for (const name of padding) await ch.assertExchange(name, 'topic', { durable: true })
      const confirmed: string[] = []
      for (let i = 0; i < 20; i++) {
        assert.ok(await publish(ch, 'orders', 'k', `m-${i}`), 'acked while there is room')
        confirmed.push(`m-${i}`)
      }
      await ch.close()

      fillUp(join(dataDir, 'filler'))
      // Lines still fit in the last page of definitions.log: delete exchanges until one deletion does not. The
      // page then has less room left than any change below needs
      let refusedDeletion: string | undefined
      for (const name of padding) {
        const error = await attempt(conn, (c) => c.deleteExchange(name))
        if (error === undefined) continue
        assertRefused(
          error,
          new RegExp(`^RESOURCE_ERROR - cannot store the deletion of exchange '${name}' in vhost '/': ENOSPC$`),
          'exchange.delete',
        )
        refusedDeletion = name
        break
      }
      assert.ok(refusedDeletion, 'an exchange deletion is refused once the disk is full')
      assert.equal(await exists(conn, 'exchange', refusedDeletion), true, 'the exchange whose deletion was refused')
      const refused = {
        name: 'new-exchange',
        error: await attempt(conn, (c) => c.assertExchange('new-exchange', 'fanout', { durable: true })),
      }
      assertRefused(
        refused.error,
        /^RESOURCE_ERROR - cannot store the definition of exchange 'new-exchange' in vhost '\/': ENOSPC$/,
        'exchange.declare',
      )
      assert.equal(await exists(conn, 'exchange', refused.name), false, 'the refused exchange does not exist')
      assertRefused(
        await attempt(conn, (c) => c.assertQueue('new-queue', { durable: true })),
        /ENOSPC$/,
        'queue.declare',
      )
      assert.equal(await exists(conn, 'queue', 'new-queue'), false, 'the refused queue does not exist')
      assertRefused(
        await attempt(conn, (c) => c.bindQueue('kept-queue', 'amq.fanout', '')),
        /^RESOURCE_ERROR - cannot store the binding of queue 'kept-queue' to exchange 'amq.fanout' in vhost '\/': ENOSPC$/,
        'queue.bind',
      )
      assertRefused(
        await attempt(conn, (c) => c.deleteQueue('kept-queue')),
        /^RESOURCE_ERROR - cannot store the deletion of queue 'kept-queue' in vhost '\/': ENOSPC$/,
        'queue.delete',
      )
      assertRefused(
        await attempt(conn, (c) => c.unbindQueue('kept-queue', 'orders', 'k')),
        /^RESOURCE_ERROR - cannot store the removal of the binding of queue 'kept-queue' to exchange 'orders' in vhost '\/': ENOSPC$/,
        'queue.unbind',
      )
      assertRefused(
        await attempt(conn, (c) => c.deleteExchange('orders')),
        /^RESOURCE_ERROR - cannot store the deletion of exchange 'orders' in vhost '\/': ENOSPC$/,
        'exchange.delete',
      )
      // Nothing changed: the queue, its binding and its messages are all there, on the same connection
      assert.equal(
        await messageCount(conn, 'kept-queue'),
        20,
        'the queue whose deletion was refused keeps its messages',
      )
      const check = await openConfirmChannel(conn)
      await check.assertQueue('transient', { durable: false })
      let returned = 0
      check.on('return', () => returned++)
      await new Promise<void>((resolve, reject) => {
        check.publish('amq.fanout', '', Buffer.from('x'), { mandatory: true }, (err) => (err ? reject(err) : resolve()))
      })
      assert.equal(returned, 1, 'the refused binding does not route')
      check.publish('orders', 'k', Buffer.from('transient'), { persistent: false })
      await check.waitForConfirms()
      assert.equal(await messageCount(conn, 'kept-queue'), 21, 'the binding whose removal was refused still routes')
      await check.close()
      await conn.close()

      // A restart while the disk is still full: the start compacts definitions.log, which fails, and goes on.
      // One page is freed for the data directory lock, which writes its files at start (warren.lock and its
      // takeover file); the rewritten definitions.log needs two.
      await broker.crash()
      await truncate(join(dataDir, 'filler'), (await stat(join(dataDir, 'filler'))).size - 4096)
      broker = await broker.restart()
      assert.ok(
        broker.logs().some((l) => /compaction failed/.test(l.msg ?? '')),
        'the failed compaction is logged',
      )
      conn = await connect(broker.url)
      assert.equal(await messageCount(conn, 'kept-queue'), 20, 'every confirmed message is recovered')
      assert.equal(await exists(conn, 'exchange', 'orders'), true)
      assert.equal(await exists(conn, 'exchange', refusedDeletion), true)
      assert.equal(await exists(conn, 'exchange', refused.name), false)
      assert.equal(await exists(conn, 'queue', 'new-queue'), false)
      fillUp(join(dataDir, 'filler-2'))
      assertRefused(
        await attempt(conn, (c) => c.assertExchange('late', 'topic', { durable: true })),
        /ENOSPC$/,
        'exchange.declare after the restart',
      )

      // Space comes back: declares work again, without a restart
      await rm(join(dataDir, 'filler'))
      await rm(join(dataDir, 'filler-2'))
      await eventually(
        async () => (await attempt(conn, (c) => c.assertExchange('late', 'topic', { durable: true }))) === undefined,
        'a durable declare once space is free',
      )
      const again = await openConfirmChannel(conn)
      await again.assertQueue('new-queue', { durable: true })
      await again.bindQueue('new-queue', 'orders', 'k')
      assert.ok(await publish(again, 'orders', 'k', 'after'), 'persistent publishes are acked')
      confirmed.push('after')
      await conn.close()
      assert.ok(
        broker.logs().some((l) => /compacted after earlier failures/.test(l.msg ?? '')),
        'the compaction is made once there is room',
      )

      await broker.stop()
      broker = await broker.restart()
      conn = await connect(broker.url)
      const drain = await openChannel(conn)
      const bodies: string[] = []
      for (
        let got = await drain.get('kept-queue', { noAck: true });
        got;
        got = await drain.get('kept-queue', { noAck: true })
      ) {
        bodies.push(got.content.toString())
      }
      assert.deepEqual(bodies, confirmed, 'every confirmed message, once, in order')
      assert.equal(await messageCount(conn, 'new-queue'), 1)
      assert.equal(await exists(conn, 'exchange', 'late'), true)
      for (let i = 0; i < 60; i++) {
        assert.equal(await exists(conn, 'exchange', `padding-exchange-${i}`), true, 'no definition is lost')
      }
      assert.equal(await exists(conn, 'exchange', refused.name), false, 'a refused declare never comes back')
      await conn.close()
      await broker.stop()
    } finally {
      await stopAllBrokerProcesses()
      await unmountTmpfs(dataDir)
    }
  },
)
