// Faults of the message store seen from a publisher: a failed write or sync is a nack, never an ack; the
// store retries by itself and persistent publishes are acked again once the fault clears, without a
// restart; what was confirmed is recovered after a restart. Warren-only: faults are injected in-process
// (through the store's file system, or a small tmpfs as the data directory).
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, test } from 'node:test'
import type { ConfirmChannel } from 'amqplib'
import {
  connect,
  eventually,
  openChannel,
  openConfirmChannel,
  replyText,
  sleep,
  whenChannelClosed,
  type AmqpError,
} from '../../helpers/amqplib.js'
import {
  makeDataDir,
  startBroker,
  stopAllBrokers,
  type InProcessBroker,
  type StartOptions,
} from '../../helpers/broker.js'
import { startBrokerProcess, stopAllBrokerProcesses } from '../../helpers/broker-process.js'
import { mountTmpfs, unmountAllTmpfs, unmountTmpfs } from '../../helpers/tmpfs.js'
import { faultyFileSystem, type FaultyOperation } from '../../helpers/faulty-fs.js'

const WARREN_ONLY = process.env['WARREN_TEST_URL'] ? 'injects faults into an in-process broker' : false

// Any unhandled rejection during these tests fails them: it would end a broker process
const unhandled: unknown[] = []
process.on('unhandledRejection', (reason) => unhandled.push(reason))
function assertNoUnhandledRejection(): void {
  assert.deepEqual(unhandled.map(String), [], 'no unhandled rejection')
}

after(async () => {
  await stopAllBrokerProcesses()
  await stopAllBrokers()
  await unmountAllTmpfs()
})

function start(options: Pick<StartOptions, 'dataDir' | 'store'> = {}): Promise<InProcessBroker> {
  // The disk alarm is off: these tests drive the store itself into ENOSPC (disk-alarm.test.ts covers the alarm)
  return startBroker({ inProcess: true, diskFreeLimit: 0, ...options })
}

/** A persistent publish; resolves true when acked, false when nacked. */
function publish(ch: ConfirmChannel, queue: string, body: string | Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    ch.sendToQueue(queue, typeof body === 'string' ? Buffer.from(body) : body, { persistent: true }, (err) =>
      resolve(err === null || err === undefined),
    )
  })
}

/** A 64 KiB body that starts with its name (drain reads the name back). */
function bigBody(name: string): Buffer {
  const bytes = Buffer.alloc(64 * 1024, 0x20)
  bytes.write(name)
  return bytes
}

const smallFileSystem = (t: { skip(message: string): void }) => mountTmpfs(t, '4m')

/** Publishes until one is acked (the store resumed); returns the acked bodies' names. */
async function publishUntilAcked(ch: ConfirmChannel, queue: string, name: string, ms = 10_000): Promise<string> {
  const deadline = Date.now() + ms
  for (let attempt = 0; ; attempt++) {
    const body = `${name}-${attempt}`
    if (await publish(ch, queue, body)) return body
    if (Date.now() > deadline) throw new Error(`persistent publishes to ${queue} still nacked after ${ms} ms`)
    await sleep(50)
  }
}

/** Every message of a queue (bodies as text), taken with basic.get. */
async function drain(server: InProcessBroker | string, queue: string): Promise<string[]> {
  const conn = await connect(typeof server === 'string' ? server : server.url)
  const ch = await conn.createChannel()
  const bodies: string[] = []
  for (;;) {
    const got = await ch.get(queue, { noAck: true })
    if (got === false) break
    bodies.push(got.content.length > 64 ? got.content.subarray(0, 32).toString().trimEnd() : got.content.toString())
  }
  await conn.close()
  return bodies
}

test(
  'deleting a durable queue and declaring it again at once, in a loop, leaves the store working',
  { timeout: 60_000, skip: WARREN_ONLY },
  async () => {
    let server = await start()
    const conn = await connect(server.url)
    const ch = await openConfirmChannel(conn)
    await ch.assertQueue('keeper', { durable: true })
    const kept: string[] = []
    let last: string[] = []
    for (let i = 0; i < 150; i++) {
      await ch.assertQueue('churn', { durable: true })
      last = [`churn-${i}-a`, `churn-${i}-b`]
      const results = await Promise.all([
        publish(ch, 'churn', last[0]!),
        publish(ch, 'keeper', `keeper-${i}`),
        publish(ch, 'churn', last[1]!),
      ])
      assert.deepEqual(results, [true, true, true], `round ${i}: every persistent publish is acked`)
      kept.push(`keeper-${i}`)
      if (i < 149) {
        // Delete and redeclare pipelined: the declare arrives while the deleted store is being removed
        const deleted = ch.deleteQueue('churn')
        const declared = ch.assertQueue('churn', { durable: true })
        await Promise.all([deleted, declared])
      }
    }
    await conn.close()
    assertNoUnhandledRejection()
    server = await server.restart()
    assert.deepEqual(await drain(server, 'keeper'), kept, 'the live queue lost nothing')
    assert.deepEqual(await drain(server, 'churn'), last, 'the last incarnation of the churned queue is intact')
    await server.stop({ keepDataDir: true })
    // Deleted stores are removed (from the trash too) once the broker is done with them
    const trash = await readdir(join(server.dataDir, 'trash')).catch(() => [])
    assert.deepEqual(trash, [], 'no deleted queue directory is left behind')
  },
)

const FAULTS: [FaultyOperation, string][] = [
  ['appendAll', 'EIO'],
  ['datasync', 'EIO'],
  ['openAppend', 'EMFILE'],
  ['appendAll', 'ENOSPC'],
]

for (const [operation, code] of FAULTS) {
  test(
    `${code} in ${operation}: publishes are nacked, then acked again once it clears, and recovery has every confirmed message`,
    { timeout: 30_000, skip: WARREN_ONLY },
    async () => {
      const fileSystem = faultyFileSystem()
      let server = await start({ store: { fileSystem } })
      const conn = await connect(server.url)
      const ch = await openConfirmChannel(conn)
      await ch.assertQueue('faults', { durable: true })
      const acked = new Set<string>()
      const nacked = new Set<string>()
      const record = (body: string, ok: boolean) => (ok ? acked : nacked).add(body)
      for (let i = 0; i < 20; i++) record(`before-${i}`, await publish(ch, 'faults', `before-${i}`))
      assert.equal(acked.size, 20)

      fileSystem.fail(operation, code)
      // A queue declared now needs new files: an open that fails (EMFILE) hits it
      await ch.assertQueue('fresh', { durable: true })
      const during = await Promise.all(
        Array.from({ length: 10 }, (_, i) => {
          const queue = i % 2 === 0 ? 'faults' : 'fresh'
          const body = `during-${i}`
          return publish(ch, queue, body).then((ok) => {
            record(body, ok)
            return ok
          })
        }),
      )
      if (operation === 'openAppend') {
        // The open queue's file is open already: its publishes fail only if they share a batch with fresh's
        assert.deepEqual(
          during.filter((_, i) => i % 2 === 1),
          Array(5).fill(false),
          'every publish to the queue whose file cannot be opened is nacked',
        )
      } else {
        assert.deepEqual(during, Array(10).fill(false), 'every publish made while the store cannot write is nacked')
      }
      assert.ok((fileSystem.failures.get(operation) ?? 0) > 0, 'the fault was hit')

      fileSystem.clear()
      const resumedFaults = await publishUntilAcked(ch, 'faults', 'resumed-faults')
      const resumedFresh = await publishUntilAcked(ch, 'fresh', 'resumed-fresh')
      acked.add(resumedFaults).add(resumedFresh)
      for (let i = 0; i < 20; i++) {
        const queue = i % 2 === 0 ? 'faults' : 'fresh'
        assert.ok(await publish(ch, queue, `after-${i}`), 'later batches succeed')
        acked.add(`after-${i}`)
      }
      await conn.close()
      assertNoUnhandledRejection()
      server = await server.restart({ store: {} })
      const recovered = [...(await drain(server, 'faults')), ...(await drain(server, 'fresh'))]
      assert.equal(new Set(recovered).size, recovered.length, 'no message comes back twice')
      for (const body of acked) assert.ok(recovered.includes(body), `confirmed ${body} is recovered`)
      for (const body of recovered) {
        assert.ok(acked.has(body) || nacked.has(body) || body.startsWith('resumed-'), `${body} was published`)
      }
      await server.stop()
    },
  )
}

test(
  'a durable queue declared while the store cannot write gets a store: its publishes are nacked, never acked and lost',
  { timeout: 30_000, skip: WARREN_ONLY },
  async () => {
    const fileSystem = faultyFileSystem()
    let server = await start({ store: { fileSystem } })
    const conn = await connect(server.url)
    const ch = await openConfirmChannel(conn)
    await ch.assertQueue('before', { durable: true })
    fileSystem.fail('appendAll', 'EIO')
    assert.equal(await publish(ch, 'before', 'fails'), false, 'the failed write is nacked')

    // Declared while the store is faulted: the declare succeeds (as RabbitMQ's do during a disk alarm)...
    await ch.assertQueue('during', { durable: true })
    // ...and its persistent publishes are refused until the store can write again
    assert.equal(await publish(ch, 'during', 'refused-1'), false)
    await ch.assertQueue('during', { durable: true })
    assert.equal(await publish(ch, 'during', 'refused-2'), false)

    fileSystem.clear()
    const first = await publishUntilAcked(ch, 'during', 'during-ok')
    assert.ok(await publish(ch, 'during', 'during-last'))
    await conn.close()
    assertNoUnhandledRejection()
    server = await server.restart({ store: {} })
    const recovered = await drain(server, 'during')
    assert.ok(recovered.includes(first) && recovered.includes('during-last'), 'confirmed messages are recovered')
    await server.stop()
  },
)

test(
  'a full disk (tmpfs): publishes are nacked, and acked again once a purge or a delete frees space',
  { timeout: 60_000, skip: WARREN_ONLY },
  async (t) => {
    const dataDir = await smallFileSystem(t)
    if (dataDir === null) return
    let server: InProcessBroker | undefined
    try {
      server = await start({ dataDir })
      const conn = await connect(server.url)
      const ch = await openConfirmChannel(conn)
      await ch.assertQueue('fill', { durable: true })
      const body = bigBody

      /** Publishes 64 KiB messages, four at a time, until the disk is full and one is nacked. */
      const fillUp = async (round: string): Promise<number> => {
        for (let i = 0; i < 400; i += 4) {
          const results = await Promise.all([0, 1, 2, 3].map((j) => publish(ch, 'fill', body(`${round}-${i + j}`))))
          if (results.includes(false)) return i
        }
        throw new Error('4 MiB of tmpfs never filled up')
      }

      assert.ok((await fillUp('first')) > 0)
      await ch.purgeQueue('fill')
      await publishUntilAcked(ch, 'fill', 'after-purge')

      assert.ok((await fillUp('second')) > 0)
      await ch.deleteQueue('fill')
      // The deleted queue's files are removed in the background: until the space is back, declaring a
      // durable queue is refused with a channel error, 506 RESOURCE_ERROR (never a connection error)
      let again: ConfirmChannel | undefined
      await eventually(async () => {
        const attempt = await openConfirmChannel(conn)
        try {
          await attempt.assertQueue('fill', { durable: true })
          again = attempt
          return true
        } catch (error) {
          assert.equal((error as AmqpError).code, 506, String(error))
          return false
        }
      }, 'a declare after the delete')
      const resumed = await publishUntilAcked(again!, 'fill', 'after-delete')
      const confirmed = [resumed]
      for (let i = 0; i < 10; i++) {
        assert.ok(await publish(again!, 'fill', body(`last-${i}`)), 'persistent publishes are acked again')
        confirmed.push(`last-${i}`)
      }
      await conn.close()
      assertNoUnhandledRejection()
      server = await server.restart()
      const recovered = await drain(server, 'fill')
      for (const name of confirmed) assert.ok(recovered.includes(name), `confirmed ${name} survives the restart`)
      await server.stop()
      server = undefined
    } finally {
      if (server) await server.stop().catch(() => undefined)
      await unmountTmpfs(dataDir)
    }
  },
)

test(
  'kill -9 while the disk is full: after a restart (with room to start) every confirmed message is there',
  { timeout: 60_000, skip: WARREN_ONLY },
  async (t) => {
    const dataDir = await smallFileSystem(t)
    if (dataDir === null) return
    try {
      const broker = await startBrokerProcess({ dataDir, args: ['--disk-free-limit', '0'] })
      const conn = await connect(broker.url)
      const ch = await openConfirmChannel(conn)
      await ch.assertQueue('full', { durable: true })
      const acked: string[] = []
      let nacks = 0
      for (let i = 0; i < 400 && nacks < 8; i += 4) {
        const names = [0, 1, 2, 3].map((j) => `m-${i + j}`)
        const results = await Promise.all(names.map((name) => publish(ch, 'full', bigBody(name))))
        for (const [j, ok] of results.entries()) {
          if (ok) acked.push(names[j]!)
          else nacks++
        }
      }
      assert.ok(nacks > 0 && acked.length > 0, 'the disk filled up')
      await broker.crash()
      await conn.close().catch(() => undefined)
      // Room for the start itself (it rewrites definitions.log; on a disk still full it cannot start yet)
      execFileSync('mount', ['-o', 'remount,size=8m', dataDir], { stdio: 'pipe' })

      const restarted = await broker.restart()
      const recovered = await drain(restarted.url, 'full')
      for (const name of acked) assert.ok(recovered.includes(name), `confirmed ${name} survives`)
      assert.equal(new Set(recovered).size, recovered.length, 'no message comes back twice')
      // And the broker writes again on that disk, now that the queue is drained
      const conn2 = await connect(restarted.url)
      const ch2 = await openConfirmChannel(conn2)
      await publishUntilAcked(ch2, 'full', 'after-restart')
      await conn2.close()
      await restarted.stop()
    } finally {
      await stopAllBrokerProcesses()
      await unmountTmpfs(dataDir)
    }
  },
)

test(
  'a durable queue whose directory cannot be made: channel error 506, no queue left behind, later declares work',
  { timeout: 30_000, skip: WARREN_ONLY },
  async () => {
    const dataDir = await makeDataDir()
    // A file where the store's directories go: mkdir fails (ENOTDIR), as it would on a full disk
    const blocker = join(dataDir, 'vhosts')
    await writeFile(blocker, 'not a directory')
    let server = await start({ dataDir })
    const conn = await connect(server.url)
    const ch = await openConfirmChannel(conn)
    const closed = whenChannelClosed(ch)
    await assert.rejects(ch.assertQueue('blocked', { durable: true }))
    const error = await closed
    assert.equal(error?.code, 506)
    assert.equal(replyText(error), "RESOURCE_ERROR - cannot create the store of queue 'blocked' in vhost '/': ENOTDIR")
    // The connection carries on, and the queue does not exist (no durable queue without a store)
    const ch2 = await openChannel(conn)
    const gone = whenChannelClosed(ch2)
    await assert.rejects(ch2.checkQueue('blocked'))
    assert.equal((await gone)?.code, 404)

    await rm(blocker)
    const ch3 = await openConfirmChannel(conn)
    await ch3.assertQueue('blocked', { durable: true })
    assert.ok(await publish(ch3, 'blocked', 'stored'))
    await conn.close()
    server = await server.restart()
    assert.deepEqual(await drain(server, 'blocked'), ['stored'])
    await server.stop()
  },
)
