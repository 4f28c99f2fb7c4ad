// Transient messages past the message memory budget are paged out to <data>/transient/ (packed-pages.ts):
// the pages exist while the queue is long, the bytes the broker counts in memory stay a fraction of the
// queue, and every message comes back over the wire exactly as published and in order (FIFO with requeues
// at the head, priority levels, basic.get), whatever the page area's files do: wiped at start, removed when
// read back, purged or deleted; a failing write keeps the page in memory and paging resumes by itself once
// the fault clears, a read failing for a while makes the queue wait, a page gone or damaged loses its messages only.
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import amqp, { type Channel, type ConsumeMessage, type GetMessage } from 'amqplib'
import { eventually, openChannel, openConfirmChannel } from '../helpers/amqplib.js'
import { startBroker, stopAllBrokers, type InProcessBroker, type StartOptions } from '../helpers/broker.js'
import { apiClient, startBrokerWithApi } from '../helpers/management-http.js'
import { errnoError } from '../helpers/faulty-fs.js'
import { nodePageFileSystem, type PageFileSystem } from '../../src/store/transient-pages.js'
import type { Queue } from '../../src/broker/queue/queue.js'

const COUNT = 30_000
const BUDGET = 256 * 1024
/** Small pages, so that a few megabytes make dozens of them */
const CHUNK = 64 * 1024
const TIMEOUT = { timeout: 120_000 }

after(() => stopAllBrokers())

/** Bodies of varied sizes: mostly small (records), every 50th over 4 KiB (kept as objects, paged with them) */
const bodyLength = (i: number): number => (i % 50 === 7 ? 5000 : 20 + (i % 400))

function publishAll(ch: amqp.ConfirmChannel, queue: string, count = COUNT, from = 0): void {
  for (let i = from; i < from + count; i++) {
    const body = Buffer.alloc(bodyLength(i), i % 251)
    body.write(String(i).padStart(8, '0'))
    const headers: Record<string, unknown> = { n: i }
    // BCC: routed to the queue too, the header removed (the message is kept as an object)
    if (i % 997 === 3) headers.BCC = ['nowhere']
    ch.publish('', queue, body, {
      messageId: i % 3 === 0 ? `id-${i}` : undefined,
      headers,
      priority: i % 3,
      contentType: i % 5 === 0 ? 'text/plain' : undefined,
    })
  }
}

const numberOf = (m: { content: Buffer }): number => Number(m.content.toString('latin1', 0, 8))

function check(m: ConsumeMessage | GetMessage, i: number): void {
  assert.equal(numberOf(m), i)
  assert.equal(m.content.length, bodyLength(i))
  assert.equal(m.content[m.content.length - 1], i % 251)
  assert.equal(m.properties.messageId, i % 3 === 0 ? `id-${i}` : undefined)
  assert.deepEqual(m.properties.headers, { n: i })
  assert.equal(m.properties.contentType, i % 5 === 0 ? 'text/plain' : undefined)
  assert.equal(m.properties.deliveryMode, undefined)
}

const pageDir = (b: InProcessBroker): string => join(b.dataDir, 'transient')
const pageFiles = (b: InProcessBroker): string[] => (existsSync(pageDir(b)) ? readdirSync(pageDir(b)) : [])
const queueOf = (b: InProcessBroker, name: string): Queue => b.broker.vhosts.get('/')!.queues.get(name)!

function pagingOptions(fileSystem?: PageFileSystem): StartOptions {
  return { messageMemoryBudget: BUDGET, store: { transientPages: { maxChunkBytes: CHUNK, fileSystem } } }
}

function startPaging(fileSystem?: PageFileSystem): Promise<InProcessBroker> {
  return startBroker({ ...pagingOptions(fileSystem), inProcess: true })
}

/** Waits until no page is being written, so the counts are settled. */
async function pagesSettled(b: InProcessBroker): Promise<void> {
  await eventually(() => b.broker.memory.pages!.writes === 0, 'page writes to end')
}

/** Connects, publishes COUNT messages into a new queue with confirms, and waits until its chunks are paged. */
async function fillPaged(
  b: InProcessBroker,
  queue: string,
  options: amqp.Options.AssertQueue = { durable: false },
): Promise<amqp.ChannelModel> {
  const conn = await amqp.connect(b.url, { noDelay: true })
  const pub = await openConfirmChannel(conn)
  await pub.assertQueue(queue, options)
  publishAll(pub, queue)
  await pub.waitForConfirms()
  await pagesSettled(b)
  return conn
}

/** Consumes until `count` messages are acked, checking each against `expected` (the indexes in order). */
function consumeAll(
  ch: Channel,
  queue: string,
  expected: number[],
  redelivered: (i: number) => boolean,
): Promise<void> {
  let next = 0
  return new Promise<void>((resolve, reject) => {
    void ch.consume(queue, (m) => {
      if (!m) return reject(new Error('cancelled'))
      try {
        check(m, expected[next]!)
        assert.equal(m.fields.redelivered, redelivered(expected[next]!), `redelivered flag of ${expected[next]}`)
        next++
        ch.ack(m)
        if (next === expected.length) resolve()
      } catch (err) {
        reject(err)
      }
    })
  })
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i)

describe('transient messages past the memory budget', () => {
  test('a non-durable FIFO queue pages them out and delivers every one in order, with requeues', TIMEOUT, async () => {
    const { broker: b, api, base } = await startBrokerWithApi(pagingOptions())
    const call = apiClient(() => base)
    const q = 'paged-fifo'
    const conn = await fillPaged(b, q)
    const queue = queueOf(b, q)
    const memory = b.broker.memory
    const total = queue.messageBytes
    assert.ok(pageFiles(b).length > 10, `page files: ${pageFiles(b).length}`)
    assert.equal(pageFiles(b).length, memory.pages!.files)
    assert.ok(queue.pagedOut > COUNT / 2, `paged out: ${queue.pagedOut} of ${COUNT}`)
    // The accounting: what is not paged out is in memory, and that is a fraction of the queue
    assert.equal(memory.used, total - queue.pagedOutBytes)
    assert.ok(memory.used < total / 3, `in memory ${memory.used} of ${total} bytes`)
    // The management API says so, and its message viewer reads paged messages without taking them
    const stats = (await call('GET', `/api/queues/%2F/${q}`)).json
    assert.equal(stats.messages_paged_out, queue.pagedOut)
    assert.equal(stats.message_bytes_paged_out, queue.pagedOutBytes)
    assert.equal(stats.message_bytes_ram, memory.used)
    assert.equal(stats.messages_ram, COUNT - queue.pagedOut)
    // (from the middle of the queue: a paged-out chunk)
    const at = COUNT / 2
    const peeked = (await call('GET', `/api/queues/%2F/${q}/messages?count=3&offset=${at}`)).json
    assert.deepEqual(
      peeked.map((m: { payload: string }) => numberOf({ content: Buffer.from(m.payload, 'base64') })),
      [at, at + 1, at + 2],
    )
    assert.equal(queue.pagedOut, stats.messages_paged_out, 'the viewer left the pages paged out')

    // 200 taken by a consumer and requeued (its channel closes): back at the head, redelivered
    const first = await openChannel(conn)
    await first.prefetch(200)
    let held = 0
    await new Promise<void>((resolve) => {
      void first.consume(q, () => {
        if (++held === 200) resolve()
      })
    })
    await first.close()
    // 5,000 by basic.get (the head's page read back synchronously when it is not in yet), then 300 requeued
    const getter = await openChannel(conn)
    for (let i = 0; i < 5000; i++) {
      const m = await getter.get(q)
      assert.ok(m, `message ${i}`)
      check(m, i)
      assert.equal(m.fields.redelivered, i < 200)
      getter.ack(m)
    }
    for (let i = 5000; i < 5300; i++) assert.equal(numberOf((await getter.get(q)) as GetMessage), i)
    await getter.close()
    const sub = await openChannel(conn)
    await sub.prefetch(500)
    await consumeAll(sub, q, range(5000, COUNT), (i) => i < 5300)
    await eventually(() => pageFiles(b).length === 0, 'every page file to be removed once read back')
    assert.equal(queue.pagedOut, 0)
    assert.equal(queue.pagedOutBytes, 0)
    assert.equal(memory.used, 0)
    await conn.close()
    await api.close()
    await b.stop()
  })

  test('a durable priority queue pages each level out and delivers them by priority', TIMEOUT, async () => {
    const b = await startPaging()
    const q = 'paged-priority'
    const conn = await fillPaged(b, q, { durable: true, arguments: { 'x-max-priority': 2 } })
    const queue = queueOf(b, q)
    assert.ok(pageFiles(b).length > 10, `page files: ${pageFiles(b).length}`)
    assert.ok(queue.pagedOut > COUNT / 2, `paged out: ${queue.pagedOut} of ${COUNT}`)
    assert.equal(b.broker.memory.used, queue.messageBytes - queue.pagedOutBytes)
    const expected: number[] = []
    for (let p = 2; p >= 0; p--) for (let i = p; i < COUNT; i += 3) expected.push(i)
    const sub = await openChannel(conn)
    await sub.prefetch(300)
    await consumeAll(sub, q, expected, () => false)
    await eventually(() => pageFiles(b).length === 0, 'every page file to be removed once read back')
    assert.equal(b.broker.memory.used, 0)
    await conn.close()
    await b.stop()
  })

  test('purging or deleting a queue removes its pages; the page area is wiped at start', TIMEOUT, async () => {
    const b = await startPaging()
    const conn = await amqp.connect(b.url, { noDelay: true })
    const pub = await openConfirmChannel(conn)
    await pub.assertQueue('purged', { durable: false })
    await pub.assertQueue('deleted', { durable: true })
    publishAll(pub, 'purged')
    publishAll(pub, 'deleted')
    await pub.waitForConfirms()
    await pagesSettled(b)
    const before = pageFiles(b).length
    assert.ok(queueOf(b, 'purged').pagedOut > 0 && queueOf(b, 'deleted').pagedOut > 0)
    await pub.purgeQueue('purged')
    await eventually(() => pageFiles(b).length < before && pageFiles(b).length > 0, 'the purged queue’s pages to go')
    await pub.deleteQueue('deleted')
    await eventually(() => pageFiles(b).length === 0, 'the deleted queue’s pages to go')
    assert.equal(b.broker.memory.pages!.files, 0)
    assert.equal(b.broker.memory.used, 0)
    await conn.close()
    // Whatever an earlier run left in the page area is never read: wiped at start
    await b.stop({ keepDataDir: true })
    mkdirSync(pageDir(b), { recursive: true })
    writeFileSync(join(pageDir(b), '0'), 'left by a crash')
    const again = await b.restart()
    assert.deepEqual(pageFiles(again), [])
    await again.stop()
  })

  test(
    'a write that fails keeps the pages in memory and loses nothing; paging resumes by itself',
    TIMEOUT,
    async () => {
      let failing = true
      let failures = 0
      const fileSystem: PageFileSystem = {
        ...nodePageFileSystem,
        async write(path, buffers) {
          if (failing) {
            failures++
            throw errnoError('ENOSPC', 'write')
          }
          return nodePageFileSystem.write(path, buffers)
        },
      }
      const b = await startPaging(fileSystem)
      const q = 'write-fault'
      const conn = await fillPaged(b, q)
      const queue = queueOf(b, q)
      const memory = b.broker.memory
      assert.ok(failures > 0)
      assert.equal(queue.pagedOut, 0)
      assert.deepEqual(pageFiles(b), [])
      assert.equal(memory.used, queue.messageBytes)
      assert.ok(memory.used > BUDGET)
      // Publishing stops; the disk has room again: once the pause is over, paging resumes on its own
      failing = false
      await eventually(() => queue.pagedOut > 0 && memory.pages!.writes === 0, 'paging to resume', 60_000)
      assert.ok(pageFiles(b).length > 0)
      assert.equal(pageFiles(b).length, memory.pages!.files)
      assert.equal(memory.used, queue.messageBytes - queue.pagedOutBytes)
      assert.ok(memory.used < queue.messageBytes / 3, `in memory ${memory.used} of ${queue.messageBytes} bytes`)
      const sub = await openChannel(conn)
      await sub.prefetch(500)
      await consumeAll(sub, q, range(0, COUNT), () => false)
      await eventually(() => pageFiles(b).length === 0, 'every page file to be removed')
      assert.equal(memory.used, 0)
      await conn.close()
      await b.stop()
    },
  )

  test('a read that fails makes the queue wait, then delivers everything in order', TIMEOUT, async () => {
    let failing = false
    let failures = 0
    const fail = (): void => {
      failures++
      throw errnoError('EIO', 'read')
    }
    const fileSystem: PageFileSystem = {
      ...nodePageFileSystem,
      async read(path) {
        if (failing) fail()
        return nodePageFileSystem.read(path)
      },
      readSync(path) {
        if (failing) fail()
        return nodePageFileSystem.readSync(path)
      },
    }
    const b = await startPaging(fileSystem)
    const q = 'read-fault'
    const conn = await fillPaged(b, q)
    assert.ok(queueOf(b, q).pagedOut > 0)
    failing = true
    const sub = await openChannel(conn)
    await sub.prefetch(500)
    let next = 0
    const done = new Promise<void>((resolve, reject) => {
      void sub.consume(q, (m) => {
        if (!m) return reject(new Error('cancelled'))
        try {
          check(m, next++)
          sub.ack(m)
          if (next === COUNT) resolve()
        } catch (err) {
          reject(err)
        }
      })
    })
    await eventually(() => failures >= 3, 'reads to fail and be retried')
    assert.ok(next < COUNT, 'the queue waits at the page it cannot read')
    // basic.get cannot read it either: the channel is closed with 506, the messages stay
    const getter = await openChannel(conn)
    getter.on('error', () => {})
    await assert.rejects(getter.get(q), /RESOURCE_ERROR/)
    failing = false
    await done
    await eventually(() => pageFiles(b).length === 0, 'every page file to be removed')
    await conn.close()
    await b.stop()
  })

  test(
    'a page deleted or damaged behind the broker’s back: its messages are lost and logged, the rest delivered in order',
    TIMEOUT,
    async () => {
      const { broker: b, api, base } = await startBrokerWithApi(pagingOptions())
      const call = apiClient(() => base)
      const errors: Record<string, unknown>[] = []
      const log = b.broker.log
      const logError = log.error.bind(log)
      log.error = ((fields: unknown, ...rest: unknown[]) => {
        if (typeof fields === 'object' && fields !== null) errors.push({ ...fields, msg: rest[0] })
        return (logError as (...args: unknown[]) => void)(fields, ...rest)
      }) as typeof log.error
      const conn = await amqp.connect(b.url, { noDelay: true })
      const pub = await openConfirmChannel(conn)
      const q = 'lost-pages'
      await pub.assertQueue(q, { durable: false })
      await pub.assertQueue('bystander', { durable: false })
      publishAll(pub, q)
      await pub.waitForConfirms()
      await pagesSettled(b)
      const ours = pageFiles(b)
      assert.ok(ours.length > 4, `page files: ${ours.length}`)
      // Another queue's pages are written after these, and stay as they are
      publishAll(pub, 'bystander')
      await pub.waitForConfirms()
      await pagesSettled(b)
      const bystander = queueOf(b, 'bystander')
      assert.ok(bystander.pagedOut > 0)
      // One page of the queue deleted, another overwritten: neither can ever be read back
      rmSync(join(pageDir(b), ours[0]!))
      writeFileSync(join(pageDir(b), ours[ours.length - 1]!), Buffer.alloc(2000, 0x5a))
      const queue = queueOf(b, q)
      const sub = await openChannel(conn)
      await sub.prefetch(500)
      const delivered: number[] = []
      await new Promise<void>((resolve, reject) => {
        void sub.consume(q, (m) => {
          if (!m) return reject(new Error('cancelled'))
          try {
            const i = numberOf(m)
            check(m, i)
            delivered.push(i)
            sub.ack(m)
            // The last one is in the chunk being filled, never paged out
            if (i === COUNT - 1) resolve()
          } catch (err) {
            reject(err)
          }
        })
      })
      // In order; what is missing is two runs of messages (two chunks), as many as the log says were lost
      let gaps = 0
      for (let k = 0; k < delivered.length; k++) {
        const previous = k === 0 ? -1 : delivered[k - 1]!
        assert.ok(delivered[k]! > previous, `${delivered[k]} after ${previous}`)
        if (delivered[k]! > previous + 1) gaps++
      }
      assert.equal(gaps, 2)
      const lost = errors.filter((e) => e['queue'] === q)
      assert.equal(lost.length, 2, JSON.stringify(errors))
      assert.equal(
        lost.reduce((sum, e) => sum + (e['lost'] as number), 0),
        COUNT - delivered.length,
      )
      // Every count follows: nothing is left in the queue, in memory or paged out for it
      await sub.close()
      assert.equal(queue.messageCount, 0)
      assert.equal(queue.messageBytes, 0)
      assert.equal(queue.pagedOut, 0)
      assert.equal(queue.pagedOutBytes, 0)
      const stats = (await call('GET', `/api/queues/%2F/${q}`)).json
      assert.equal(stats.messages, 0)
      assert.equal(stats.messages_paged_out, 0)
      assert.equal(stats.message_bytes_paged_out, 0)
      assert.equal(stats.message_bytes, 0)
      assert.equal(b.broker.memory.used, bystander.messageBytes - bystander.pagedOutBytes)
      // The other queue is whole
      const other = await openChannel(conn)
      await other.prefetch(500)
      await consumeAll(other, 'bystander', range(0, COUNT), () => false)
      await eventually(() => pageFiles(b).length === 0, 'every page file to be removed')
      assert.equal(b.broker.memory.pages!.files, 0)
      assert.equal(b.broker.memory.used, 0)
      await conn.close()
      await api.close()
      await b.stop()
    },
  )
})
