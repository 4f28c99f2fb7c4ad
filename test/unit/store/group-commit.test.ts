// Group commit: batch numbers, the durable listener, one write and one datasync per file per batch,
// and what happens when a write fails.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { MessageStore } from '../../../src/store/message-store.js'
import { decodePayload, offsetOf, slotOf } from '../../../src/store/record.js'
import { capturingLogger, countingFileSystem, message, plain, withTempDir } from './store-helpers.js'

const segmentPath = (dir: string, position: number) => join(dir, `msgs.${String(slotOf(position)).padStart(10, '0')}`)

test('a record appended in batch N is in its file when the listener reports N', async () => {
  await withTempDir(async (dir) => {
    const { log } = capturingLogger()
    const store = new MessageStore(dir, log)
    const { store: queue } = await store.openQueue('/', 'q')
    const appended = new Map<number, { position: number; index: number }[]>()
    const reported: number[] = []
    let checked = 0
    store.onDurable((batch) => {
      reported.push(batch)
      assert.equal(store.durableBatch, batch)
      for (const { position, index } of appended.get(batch) ?? []) {
        const bytes = readFileSync(segmentPath(queue.dir, position))
        const offset = offsetOf(position)
        assert.ok(bytes.length >= offset + 8, `record ${index} of batch ${batch} is on disk`)
        const stored = decodePayload(bytes, offset + 8, bytes.readUInt32BE(offset))
        assert.ok(stored)
        assert.deepEqual(plain(stored), plain(message(index, 64)))
        checked++
      }
    })
    assert.equal(store.currentBatch, 1)
    assert.equal(store.durableBatch, 0)
    let total = 0
    for (let round = 0; round < 20; round++) {
      const batch = store.currentBatch
      for (let i = 0; i < 1 + (round % 4) * 50; i++) {
        const index = total++
        const position = queue.append(message(index, 64))
        const list = appended.get(batch) ?? []
        list.push({ position, index })
        appended.set(batch, list)
      }
      // Let some commits start mid-way, so later appends land in the next batch
      if (round % 3 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    await store.flush()
    assert.equal(checked, total)
    // Batches are reported once each, in increasing order
    assert.deepEqual(
      reported,
      [...reported].sort((a, b) => a - b),
    )
    assert.equal(new Set(reported).size, reported.length)
    assert.equal(store.durableBatch, reported.at(-1))
    await store.close()
  })
})

test('writes made while a commit runs belong to the next batch', async () => {
  await withTempDir(async (dir) => {
    const { log } = capturingLogger()
    const store = new MessageStore(dir, log)
    const { store: queue } = await store.openQueue('/', 'q')
    queue.append(message(1))
    const first = store.currentBatch
    await new Promise((resolve) => setImmediate(resolve))
    // The commit of `first` has started: new writes go to the next batch
    assert.equal(store.currentBatch, first + 1)
    queue.append(message(2))
    const durableSeen: number[] = []
    store.onDurable((batch) => durableSeen.push(batch))
    await store.flush()
    assert.deepEqual(durableSeen, [first, first + 1])
    await store.close()
  })
})

test('many queues written in one turn are one batch: one write and one datasync per file', async () => {
  await withTempDir(async (dir) => {
    const { log } = capturingLogger()
    const fileSystem = countingFileSystem()
    const store = new MessageStore(dir, log, { fileSystem })
    const queues = []
    for (let q = 0; q < 50; q++) queues.push((await store.openQueue('/', `queue-${q}`)).store)
    await store.flush()
    fileSystem.datasyncs.length = 0
    fileSystem.writes = 0
    const batches = new Set<number>()
    const reported: number[] = []
    store.onDurable((batch) => reported.push(batch))
    for (let i = 0; i < 2000; i++) {
      queues[i % queues.length]!.append(message(i))
      batches.add(store.currentBatch)
    }
    assert.equal(batches.size, 1)
    await store.flush()
    assert.deepEqual(reported, [...batches])
    assert.equal(fileSystem.writes, 50)
    assert.equal(fileSystem.datasyncs.length, 50)
    assert.equal(new Set(fileSystem.datasyncs).size, 50, 'each file synced once')

    // Acks of every queue in one turn: one more batch, one sync per acks file
    fileSystem.datasyncs.length = 0
    for (const queue of queues) queue.ack(queue.append(message(0)))
    await store.flush()
    assert.equal(reported.length, 2)
    assert.equal(fileSystem.datasyncs.length, 100, 'one msgs and one acks file per queue')
    await store.close()
  })
})

test('flush resolves at once when nothing is pending, and close flushes', async () => {
  await withTempDir(async (dir) => {
    const { log } = capturingLogger()
    const fileSystem = countingFileSystem()
    const store = new MessageStore(dir, log, { fileSystem })
    const { store: queue } = await store.openQueue('/', 'q')
    await store.flush()
    assert.equal(fileSystem.datasyncs.length, 0)
    queue.append(message(1))
    await store.close()
    assert.equal(fileSystem.datasyncs.length, 1)
    assert.throws(() => queue.append(message(2)), /closed/)
    await assert.rejects(store.openQueue('/', 'other'), /closed/)
  })
})

test('close and deleteQueue finish while other queues keep writing', async () => {
  await withTempDir(async (dir) => {
    const { log } = capturingLogger()
    const store = new MessageStore(dir, log)
    const busy = (await store.openQueue('/', 'busy')).store
    const doomed = (await store.openQueue('/', 'doomed')).store
    let appended = 0
    let stopped: unknown = null
    const publish = () => {
      try {
        for (let i = 0; i < 20; i++) {
          busy.append(message(appended))
          appended++
          doomed.ack(doomed.append(message(0)))
        }
        setImmediate(publish)
      } catch (error) {
        stopped = error
      }
    }
    publish()
    await new Promise((resolve) => setTimeout(resolve, 50))
    await store.deleteQueue('/', 'doomed')
    // The publisher meets the deleted queue and stops; restart it on the busy queue only
    await new Promise((resolve) => setImmediate(resolve))
    assert.match(String(stopped), /deleted/)
    stopped = null
    const publishBusy = () => {
      try {
        for (let i = 0; i < 20; i++) {
          busy.append(message(appended))
          appended++
        }
        setImmediate(publishBusy)
      } catch (error) {
        stopped = error
      }
    }
    publishBusy()
    await new Promise((resolve) => setTimeout(resolve, 50))
    await store.close()
    await new Promise((resolve) => setImmediate(resolve))
    assert.match(String(stopped), /closed/)
    busy.ack(0)
    busy.purge()

    const reopened = new MessageStore(dir, log)
    assert.deepEqual(await reopened.listQueues(), [{ vhost: '/', queue: 'busy' }])
    const { messages } = await reopened.openQueue('/', 'busy')
    assert.equal(messages.length, appended)
    await reopened.close()
  })
})
