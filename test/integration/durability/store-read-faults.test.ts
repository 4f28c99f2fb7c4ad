// Transient read faults (EMFILE, EIO) on paged-out messages: the message stays at the head of its queue, the
// read is retried, and it is delivered (in order) once the fault clears, without a restart. Consumers,
// basic.get and TTL dead-lettering are each checked; other queues carry on meanwhile.
import assert from 'node:assert/strict'
import { closeSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { after, test } from 'node:test'
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib'
import type { Queue } from '../../../src/broker/queue/queue.js'
import { sleep } from '../../helpers/amqplib.js'
import { startBroker, stopAllBrokers, type InProcessBroker } from '../../helpers/broker.js'
import { faultyFileSystem, type FaultyFileSystem, type FaultyOperation } from '../../helpers/faulty-fs.js'

const WARREN_ONLY = process.env['WARREN_TEST_URL'] ? 'injects faults into an in-process broker' : false
const OPTIONS = { timeout: 20_000, skip: WARREN_ONLY }

after(() => stopAllBrokers())

function start(fileSystem: FaultyFileSystem): Promise<InProcessBroker> {
  // A zero budget: every persistent message of a durable queue lives only in the store
  return startBroker({ inProcess: true, messageMemoryBudget: 0, store: { fileSystem } })
}

interface FaultyBroker {
  fileSystem: FaultyFileSystem
  server: InProcessBroker
  conn: ChannelModel
  ch: Channel
}

/** A test on a fresh broker whose store reads through a faulty file system (no fault yet), with a connection
 * and a channel open; the connection is closed once the test's body has passed. */
function faultTest(name: string, body: (t: FaultyBroker) => Promise<void>): void {
  test(name, OPTIONS, async () => {
    const fileSystem = faultyFileSystem()
    const server = await start(fileSystem)
    const conn = await amqp.connect(server.url)
    const ch = await conn.createChannel()
    await body({ fileSystem, server, conn, ch })
    await conn.close()
  })
}

async function publishConfirmed(server: InProcessBroker, queue: string, bodies: string[]): Promise<void> {
  const conn = await amqp.connect(server.url)
  const ch = await conn.createConfirmChannel()
  for (const body of bodies) ch.sendToQueue(queue, Buffer.from(body), { persistent: true })
  await ch.waitForConfirms()
  await conn.close()
}

async function until(condition: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms
  while (!condition()) {
    if (Date.now() > end) assert.fail(`timed out waiting until ${what}`)
    await sleep(10)
  }
}

/** Waits until `operation` has failed at least twice: the store retried it after the first failure. */
function untilRetried(fileSystem: FaultyFileSystem, operation: FaultyOperation, what: string): Promise<void> {
  return until(() => (fileSystem.failures.get(operation) ?? 0) >= 2, what)
}

function queueOf(server: InProcessBroker, name: string): Queue {
  return server.broker.vhosts.get('/')!.queues.get(name)!
}

/** Declares the durable queue `deadQueue`, then the durable queue `queue` with `args`, dead-lettering to
 * `deadQueue` through the default exchange. */
async function declareDeadLettering(ch: Channel, queue: string, deadQueue: string, args: object): Promise<void> {
  await ch.assertQueue(deadQueue, { durable: true })
  await ch.assertQueue(queue, {
    durable: true,
    arguments: { ...args, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': deadQueue },
  })
}

const bodies = (n: number, prefix = 'm') => Array.from({ length: n }, (_, i) => `${prefix}${i}`)

for (const [operation, code] of [
  ['readSync', 'EIO'],
  ['readSync', 'EMFILE'],
] as const) {
  faultTest(
    `${code} reading paged-out messages: consumers wait, then get every message in order once it clears`,
    async ({ fileSystem, server, conn, ch: setup }) => {
      await setup.assertQueue('paged', { durable: true })
      await setup.assertQueue('other', { durable: false })
      await publishConfirmed(server, 'paged', bodies(10))
      const queue = queueOf(server, 'paged')
      assert.equal(queue.pagedOut, 10)

      fileSystem.fail(operation, code)
      const got: string[] = []
      const consumer = await conn.createChannel()
      await consumer.prefetch(3)
      await consumer.consume('paged', (m: ConsumeMessage | null) => {
        got.push(m!.content.toString())
        consumer.ack(m!)
      })
      await untilRetried(fileSystem, operation, 'the read was retried')
      assert.deepEqual(got, [], 'nothing can be delivered while the fault lasts')
      assert.equal(queue.messageCount, 10, 'the unreadable message stays in the queue')

      // Other queues carry on
      setup.sendToQueue('other', Buffer.from('still here'))
      let other: amqp.GetMessage | false = false
      for (let i = 0; i < 100 && !other; i++) {
        other = await setup.get('other', { noAck: true })
        if (!other) await sleep(10)
      }
      assert.ok(other, 'another queue still delivers')

      fileSystem.clear()
      await until(() => got.length === 10, 'every message is delivered after the fault clears')
      assert.deepEqual(got, bodies(10), 'in publish order, none lost')
    },
  )
}

test(
  'EMFILE opening a recovered segment: its messages are delivered in order once descriptors are free again',
  OPTIONS,
  async () => {
    let server = await start(faultyFileSystem())
    const conn = await amqp.connect(server.url)
    await (await conn.createChannel()).assertQueue('recovered', { durable: true })
    await conn.close()
    await publishConfirmed(server, 'recovered', bodies(6))

    // Recovered at start beyond the budget: paged out, and the segment is not open until the first read
    const fileSystem = faultyFileSystem()
    server = await server.restart({ store: { fileSystem } })
    const queue = queueOf(server, 'recovered')
    assert.equal(queue.pagedOut, 6)
    fileSystem.fail('openReadSync', 'EMFILE')
    const conn2 = await amqp.connect(server.url)
    const ch = await conn2.createChannel()
    const got: string[] = []
    await ch.consume('recovered', (m) => got.push(m!.content.toString()), { noAck: true })
    await untilRetried(fileSystem, 'openReadSync', 'the open was retried')
    assert.deepEqual(got, [])
    assert.equal(queue.messageCount, 6)
    fileSystem.clear()
    await until(() => got.length === 6, 'every recovered message is delivered')
    assert.deepEqual(got, bodies(6))
    await conn2.close()
  },
)

faultTest(
  'basic.get while the head cannot be read: 506 RESOURCE_ERROR, the message stays; got once the fault clears',
  async ({ fileSystem, server, conn, ch: setup }) => {
    await setup.assertQueue('polled', { durable: true })
    await publishConfirmed(server, 'polled', bodies(3))

    fileSystem.fail('readSync', 'EIO')
    const ch: Channel = await conn.createChannel()
    const closed = new Promise<Error>((resolve) => ch.once('error', resolve))
    await assert.rejects(ch.get('polled'), /506/)
    assert.match((await closed).message, /RESOURCE_ERROR/)
    const check = await setup.checkQueue('polled')
    assert.equal(check.messageCount, 3, 'no message left the queue')

    fileSystem.clear()
    const again = await conn.createChannel()
    const first = await again.get('polled', { noAck: true })
    assert.ok(first)
    assert.equal(first.content.toString(), 'm0')
    const second = await again.get('polled', { noAck: true })
    assert.ok(second)
    assert.equal(second.content.toString(), 'm1')
  },
)

faultTest(
  'TTL expiry of unreadable paged-out messages keeps their dead letters until they can be read',
  async ({ fileSystem, server, ch }) => {
    await declareDeadLettering(ch, 'ttl', 'dead', { 'x-message-ttl': 100 })
    fileSystem.fail('readSync', 'EIO')
    await publishConfirmed(server, 'ttl', bodies(4))
    const queue = queueOf(server, 'ttl')
    assert.equal(queue.pagedOut, 4)
    await sleep(300)
    await untilRetried(fileSystem, 'readSync', 'the read was retried')
    assert.equal(queue.messageCount, 4, 'expired messages wait until their dead letter can be made')

    fileSystem.clear()
    const dead = queueOf(server, 'dead')
    await until(() => dead.messageCount === 4, 'every message is dead-lettered')
    assert.equal(queue.messageCount, 0)
    const got: string[] = []
    for (let i = 0; i < 4; i++) {
      const m = await ch.get('dead', { noAck: true })
      assert.ok(m)
      got.push(m.content.toString())
    }
    assert.deepEqual(got, bodies(4), 'dead letters in order')
  },
)

faultTest(
  'a requeued message is redelivered while the paged-out ones behind it cannot be read; the rest follow in order',
  async ({ fileSystem, server, ch }) => {
    await ch.assertQueue('requeued', { durable: true })
    await publishConfirmed(server, 'requeued', bodies(4))
    await ch.prefetch(1)
    const got: string[] = []
    let nackFirst = true
    await ch.consume('requeued', (m) => {
      got.push(`${m!.content.toString()}${m!.fields.redelivered ? '*' : ''}`)
      if (nackFirst) {
        // m0 is in memory now; m1..m3 are paged out and fail
        nackFirst = false
        fileSystem.fail('readSync', 'EIO')
        ch.nack(m!, false, true)
      } else ch.ack(m!)
    })
    await until(() => got.length === 2, 'the requeued message is redelivered')
    assert.deepEqual(got, ['m0', 'm0*'])
    await untilRetried(fileSystem, 'readSync', 'the read was retried')
    assert.equal(got.length, 2)
    fileSystem.clear()
    await until(() => got.length === 5, 'the rest is delivered')
    assert.deepEqual(got, ['m0', 'm0*', 'm1', 'm2', 'm3'])
  },
)

faultTest(
  'drop-head over x-max-length with a dead-letter exchange: heads that cannot be read wait, then are dead-lettered',
  async ({ fileSystem, server, ch }) => {
    await declareDeadLettering(ch, 'limited', 'overflowed', { 'x-max-length': 2 })
    await publishConfirmed(server, 'limited', bodies(2))
    fileSystem.fail('readSync', 'EMFILE')
    // The publishes are taken (and confirmed); the heads they push out cannot be read yet
    await publishConfirmed(server, 'limited', ['m2', 'm3'])
    assert.equal(queueOf(server, 'limited').messageCount, 4)
    assert.equal(queueOf(server, 'overflowed').messageCount, 0)
    fileSystem.clear()
    await until(() => queueOf(server, 'overflowed').messageCount === 2, 'the pushed-out heads are dead-lettered')
    const take = async (queue: string) => (await ch.get(queue, { noAck: true })) || assert.fail(`${queue} empty`)
    assert.deepEqual(
      [(await take('overflowed')).content.toString(), (await take('overflowed')).content.toString()],
      ['m0', 'm1'],
    )
    assert.deepEqual(
      [(await take('limited')).content.toString(), (await take('limited')).content.toString()],
      ['m2', 'm3'],
    )
  },
)

faultTest(
  'a damaged record (checksum mismatch) is dropped with an error log; the messages behind it are delivered',
  async ({ fileSystem, server, ch }) => {
    await ch.assertQueue('flipped', { durable: true })
    await publishConfirmed(server, 'flipped', ['first-message', 'second-message', 'third-message'])
    const queue = queueOf(server, 'flipped')
    // Flip one byte of the second body on disk
    const segment = readdirSync(queue.store!.dir).find((f) => f.startsWith('msgs.'))!
    const path = join(queue.store!.dir, segment)
    const bytes = readFileSync(path)
    const at = bytes.indexOf('second-message')
    assert.ok(at > 0)
    const fd = openSync(path, 'r+')
    writeSync(fd, Buffer.from('X'), 0, 1, at)
    closeSync(fd)
    const got: string[] = []
    await ch.consume('flipped', (m) => got.push(m!.content.toString()), { noAck: true })
    await until(() => got.length === 2, 'the readable messages are delivered')
    assert.deepEqual(got, ['first-message', 'third-message'])
    assert.equal(queue.messageCount, 0)
    assert.equal(fileSystem.failures.size, 0)
  },
)

faultTest(
  'basic.get after an unreadable expired head becomes readable: it is dead-lettered, not handed out',
  async ({ fileSystem, server, conn, ch }) => {
    await declareDeadLettering(ch, 'ttl2', 'dead2', { 'x-message-ttl': 50 })
    fileSystem.fail('readSync', 'EIO')
    await publishConfirmed(server, 'ttl2', bodies(2))
    // Long enough for the retry delay to grow well past the round trip of the get below
    await sleep(500)
    const failed = await conn.createChannel()
    failed.on('error', () => {})
    await assert.rejects(failed.get('ttl2'), /506/)
    fileSystem.clear()
    assert.equal(await ch.get('ttl2', { noAck: true }), false, 'expired messages are not handed out')
    const dead = queueOf(server, 'dead2')
    await until(() => dead.messageCount === 2, 'both are dead-lettered')
  },
)
