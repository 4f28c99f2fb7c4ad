// Overlapped commits: the next batch is written (and synced) while the previous batch's fdatasync is still in
// flight. Batches are still reported in order, a batch is reported durable only after its own syncs and its
// predecessor's, and a failed write or sync in the middle of the overlap fails exactly the batches it must,
// loses nothing that was reported durable, and leaves no torn or doubled record for recovery.
import assert from 'node:assert/strict'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { nodeFileSystem, type StoreFileSystem } from '../../../src/store/file-io.js'
import { MessageStore, type MessageStoreOptions } from '../../../src/store/message-store.js'
import { layoutOf } from '../../../src/store/record.js'
import { errnoError } from '../../helpers/faulty-fs.js'
import { capturingLogger, message, plain, withTempDir } from './store-helpers.js'

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

interface HeldSync {
  path: string
  /** Completes the fdatasync (it has already run for real), or fails it with this errno */
  release(code?: string): void
}

/** A file system whose fdatasyncs can be held in flight and released one by one, with or without an error. */
function heldSyncFileSystem() {
  const paths = new Map<number, string>()
  const control = {
    holding: false,
    held: [] as HeldSync[],
    writes: 0,
    syncsDone: 0,
    failWrites: null as string | null,
    failDirectorySync: null as string | null,
  }
  const fileSystem: StoreFileSystem = {
    ...nodeFileSystem,
    async openAppend(path) {
      const fd = await nodeFileSystem.openAppend(path)
      paths.set(fd, path)
      return fd
    },
    async appendAll(fd, buffers, position) {
      control.writes++
      if (control.failWrites !== null) throw errnoError(control.failWrites, 'write')
      return nodeFileSystem.appendAll(fd, buffers, position)
    },
    async datasync(fd) {
      await nodeFileSystem.datasync(fd)
      if (control.holding) {
        await new Promise<void>((resolve, reject) => {
          control.held.push({
            path: paths.get(fd) ?? '?',
            release: (code) => (code === undefined ? resolve() : reject(errnoError(code, 'fdatasync'))),
          })
        })
      }
      control.syncsDone++
    },
    async syncDirectory(path) {
      if (control.failDirectorySync !== null) throw errnoError(control.failDirectorySync, 'fsync')
      return nodeFileSystem.syncDirectory(path)
    },
  }
  return { fileSystem, control }
}

function listen(store: MessageStore) {
  const events: string[] = []
  store.onDurable((batch) => events.push(`durable ${batch}`))
  store.onBatchFailed((batch) => events.push(`failed ${batch}`))
  return events
}

/**
 * A store on the held-sync file system with queue q holding one durable message (message 0, whose position is
 * returned for acks), and its batch events from then on.
 */
async function storeWithOneMessage(dir: string, options: MessageStoreOptions = {}) {
  const { log } = capturingLogger()
  const { fileSystem, control } = heldSyncFileSystem()
  const store = new MessageStore(dir, log, { fileSystem, ...options })
  const { store: queue } = await store.openQueue('/', 'q')
  const first = queue.append(message(0))
  await store.flush()
  return { store, queue, control, first, events: listen(store) }
}

async function recovered(dir: string, queue = 'q'): Promise<{ messages: unknown[]; warnings: unknown[] }> {
  const { log, warnings } = capturingLogger()
  const store = new MessageStore(dir, log)
  const { messages } = await store.openQueue('/', queue)
  await store.close()
  return { messages: messages.map((m) => plain(m.message)), warnings: warnings() }
}

const expected = (indexes: number[]) => indexes.map((i) => plain(message(i)))

test('the next batch is written while a sync is in flight, and a later sync that ends first waits for it', async () => {
  await withTempDir(async (dir) => {
    const { store, queue, control, events } = await storeWithOneMessage(dir)

    control.holding = true
    const first = store.currentBatch
    queue.append(message(1))
    await until(() => control.held.length === 1, 'the first batch to sync')
    const second = store.currentBatch
    assert.equal(second, first + 1)
    const writesBefore = control.writes
    queue.append(message(2))
    await until(() => control.held.length === 2, 'the second batch to be written and synced')
    assert.equal(control.writes, writesBefore + 1, 'the second batch was written while the first synced')
    // The second sync ends first: its batch is not reported before the first
    control.held[1]!.release()
    await until(() => control.syncsDone === 2, 'the second sync to end')
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(events, [])
    assert.equal(store.durableBatch, first - 1)
    control.held[0]!.release()
    control.holding = false
    await store.flush()
    assert.deepEqual(events, [`durable ${first}`, `durable ${second}`])
    await store.close()
    assert.deepEqual(await recovered(dir), { messages: expected([0, 1, 2]), warnings: [] })
  })
})

test('the second batch fails to write while the first syncs: the first is durable, the second failed, nothing is lost', async () => {
  await withTempDir(async (dir) => {
    const { store, queue, control, events } = await storeWithOneMessage(dir)

    control.holding = true
    const first = store.currentBatch
    queue.append(message(1))
    await until(() => control.held.length === 1, 'the first batch to sync')
    const second = store.currentBatch
    control.failWrites = 'ENOSPC'
    queue.append(message(2))
    queue.append(message(3))
    const writes = control.writes
    await until(() => control.writes > writes, 'the second batch to try its write')
    // The pipeline stops at the failed write: nothing more is written until the first sync ends
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(events, [])
    control.holding = false
    control.held[0]!.release()
    await until(() => events.length >= 2, 'both batches to settle')
    assert.deepEqual(events.slice(0, 2), [`durable ${first}`, `failed ${second}`])
    assert.ok(store.failed, 'writes fail: new messages are refused')
    assert.throws(() => queue.append(message(9)), /cannot write/)

    control.failWrites = null
    await until(() => store.failed === null, 'the retry to succeed')
    queue.append(message(4))
    await store.flush()
    await store.close()
    const expectedBytes = [0, 1, 2, 3, 4].reduce((sum, i) => sum + layoutOf(message(i)).totalBytes, 0)
    assert.equal((await stat(join(queue.dir, 'msgs.0000000001'))).size, expectedBytes, 'no torn or doubled bytes')
    // The failed batch's messages were kept and written by the retry (nacked ones may survive, never less)
    assert.deepEqual(await recovered(dir), { messages: expected([0, 1, 2, 3, 4]), warnings: [] })
  })
})

test('the first sync fails while the second batch syncs: both batches fail, in order, even if the second sync succeeds', async () => {
  await withTempDir(async (dir) => {
    const { store, queue, control, events } = await storeWithOneMessage(dir)

    control.holding = true
    const first = store.currentBatch
    queue.append(message(1))
    await until(() => control.held.length === 1, 'the first batch to sync')
    const second = store.currentBatch
    queue.append(message(2))
    await until(() => control.held.length === 2, 'the second batch to sync')
    control.holding = false
    // The later sync succeeds first; then the earlier one reports EIO (its pages may be lost)
    control.held[1]!.release()
    await until(() => control.syncsDone === 2, 'the second sync to end')
    control.held[0]!.release('EIO')
    await until(() => events.length >= 2, 'both batches to settle')
    assert.deepEqual(events.slice(0, 2), [`failed ${first}`, `failed ${second}`])
    assert.equal(store.durableBatch >= second, true)

    await until(() => store.failed === null, 'the retry to succeed')
    queue.append(message(3))
    await store.flush()
    await store.close()
    const expectedBytes = [0, 1, 2, 3].reduce((sum, i) => sum + layoutOf(message(i)).totalBytes, 0)
    assert.equal((await stat(join(queue.dir, 'msgs.0000000001'))).size, expectedBytes, 'cut back and written once')
    assert.deepEqual(await recovered(dir), { messages: expected([0, 1, 2, 3]), warnings: [] })
  })
})

test('a segment rollover between overlapped batches: the new segment is synced with its directory, in order', async () => {
  await withTempDir(async (dir) => {
    // Two records per segment
    const { store, queue, control, events } = await storeWithOneMessage(dir, {
      segmentSize: 2 * layoutOf(message(0)).totalBytes,
    })

    control.holding = true
    const first = store.currentBatch
    queue.append(message(1))
    await until(() => control.held.length === 1, 'the first batch to sync')
    const second = store.currentBatch
    queue.append(message(2)) // starts msgs.0000000002
    await until(() => control.held.length === 2, 'the second batch to sync')
    assert.match(control.held[1]!.path, /msgs\.0000000002$/)
    control.holding = false
    control.held[1]!.release()
    await until(() => control.syncsDone === 2, 'the second sync to end')
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(events, [], 'the new segment waits for the old one')
    control.held[0]!.release()
    await store.flush()
    assert.deepEqual(events, [`durable ${first}`, `durable ${second}`])
    await store.close()
    assert.deepEqual(await recovered(dir), { messages: expected([0, 1, 2]), warnings: [] })
  })
})

test('a rollover whose new segment fails (directory sync) while the old one syncs: old durable, new failed, then retried', async () => {
  await withTempDir(async (dir) => {
    const { store, queue, control, events } = await storeWithOneMessage(dir, {
      segmentSize: 2 * layoutOf(message(0)).totalBytes,
    })

    control.holding = true
    const first = store.currentBatch
    queue.append(message(1))
    await until(() => control.held.length === 1, 'the first batch to sync')
    const second = store.currentBatch
    control.failDirectorySync = 'EIO'
    queue.append(message(2))
    queue.append(message(3))
    await until(() => control.held.length === 2, 'the second batch to sync')
    control.holding = false
    control.held[1]!.release()
    await until(() => control.syncsDone === 2, 'the second sync to end')
    control.held[0]!.release()
    await until(() => events.length >= 2, 'both batches to settle')
    assert.deepEqual(events.slice(0, 2), [`durable ${first}`, `failed ${second}`])

    control.failDirectorySync = null
    await until(() => store.failed === null, 'the retry to succeed')
    queue.append(message(4))
    await store.flush()
    await store.close()
    assert.deepEqual(await recovered(dir), { messages: expected([0, 1, 2, 3, 4]), warnings: [] })
  })
})

test('acks wait for the next commit of messages instead of taking a place in flight of their own', async () => {
  await withTempDir(async (dir) => {
    const { store, queue, control, first, events } = await storeWithOneMessage(dir, { acksWriteIntervalMs: 0 })

    control.holding = true
    const batch = store.currentBatch
    const second = queue.append(message(1))
    await until(() => control.held.length === 1, 'the first batch to sync')
    // A consumer's ack while the batch syncs: it waits for the next batch of messages and goes with it
    queue.ack(first)
    await new Promise((resolve) => setImmediate(resolve))
    queue.append(message(2))
    await until(() => control.held.length === 3, 'the next batch to sync its messages and acks files together')
    assert.deepEqual(
      control.held
        .slice(1)
        .map((held) => held.path.split('/').pop())
        .sort(),
      ['acks.0000000001', 'msgs.0000000001'],
    )
    for (const held of control.held) held.release()
    control.holding = false
    await until(() => store.durableBatch === batch + 1, 'both batches to be durable')
    assert.deepEqual(events, [`durable ${batch}`, `durable ${batch + 1}`])

    // Acks with no message to go with: committed on their own, without a flush
    queue.ack(second)
    await until(() => store.durableBatch === batch + 2, 'the acks alone to be committed')
    await store.close()
    assert.deepEqual(await recovered(dir), { messages: expected([2]), warnings: [] })
  })
})

test('under steady publishing, acks go with a commit of messages at most once per interval, and alone once publishing stops', async () => {
  await withTempDir(async (dir) => {
    // An interval no test outlasts: acks never go with messages after the first commit
    const { store, queue, control, first } = await storeWithOneMessage(dir, { acksWriteIntervalMs: 3_600_000 })

    control.holding = true
    const batch = store.currentBatch
    queue.append(message(1))
    await until(() => control.held.length === 1, 'the first batch to sync')
    queue.ack(first)
    await new Promise((resolve) => setImmediate(resolve))
    const writesBefore = control.writes
    queue.append(message(2))
    await until(() => control.held.length === 2, 'the next batch to sync')
    assert.equal(control.writes, writesBefore + 1, 'one file written: the messages, not the acks')
    assert.equal(control.held[1]!.path.split('/').pop(), 'msgs.0000000001', 'the ack waits: messages only')
    for (const held of control.held) held.release()
    control.holding = false
    // No more messages: the ack is committed on its own, without a flush
    await until(() => store.durableBatch === batch + 2, 'the ack alone to be committed')
    await store.close()
    assert.deepEqual(await recovered(dir), { messages: expected([1, 2]), warnings: [] })
  })
})
