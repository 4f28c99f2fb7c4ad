// Zeros written ahead of the data: a small commit writes over zeros already on disk, so its fdatasync finds
// the file's size unchanged (no journal commit of metadata); a crash leaves the zeros after the data, and
// recovery reads them as the end of the data, without a warning, and gives them back.
import assert from 'node:assert/strict'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { MessageStore } from '../../../src/store/message-store.js'
import { layoutOf } from '../../../src/store/record.js'
import { capturingLogger, message, plain, withTempDir } from './store-helpers.js'

const MSGS = 'msgs.0000000001'
const ACKS = 'acks.0000000001'

function dataBytes(count: number): number {
  let bytes = 0
  for (let i = 0; i < count; i++) bytes += layoutOf(message(i)).totalBytes
  return bytes
}

test('small commits write over zeros written ahead: the file keeps its size from one commit to the next', async () => {
  await withTempDir(async (dir) => {
    const { log } = capturingLogger()
    const store = new MessageStore(dir, log)
    const { store: queue } = await store.openQueue('/', 'q')
    queue.append(message(0))
    await store.flush()
    const path = join(queue.dir, MSGS)
    const first = (await stat(path)).size
    assert.ok(first > dataBytes(1), `zeros after the data: ${first} bytes on disk for ${dataBytes(1)}`)
    queue.append(message(1))
    await store.flush()
    queue.append(message(2))
    await store.flush()
    assert.equal((await stat(path)).size, first, 'the later commits did not grow the file')
    const bytes = await readFile(path)
    assert.ok(bytes.subarray(dataBytes(3)).every((byte) => byte === 0))
    await store.close()
    assert.equal((await stat(path)).size, dataBytes(3), 'a clean close gives the zeros back')
  })
})

test('no more zeros than the segment size allows', async () => {
  await withTempDir(async (dir) => {
    const { log } = capturingLogger()
    const segmentSize = 3 * layoutOf(message(0)).totalBytes
    const store = new MessageStore(dir, log, { segmentSize })
    const { store: queue } = await store.openQueue('/', 'q')
    queue.append(message(0))
    await store.flush()
    assert.ok((await stat(join(queue.dir, MSGS))).size <= segmentSize)
    await store.close()
  })
})

test('after a crash, the zeros after the data of messages and acks are the end of the data: no warning, nothing lost', async () => {
  await withTempDir(async (dir) => {
    const { log } = capturingLogger()
    const store = new MessageStore(dir, log)
    const { store: queue } = await store.openQueue('/', 'q')
    const positions = Array.from({ length: 5 }, (_, i) => queue.append(message(i)))
    await store.flush()
    queue.ack(positions[1]!)
    await store.flush()
    // The files as a crash leaves them (kill -9 or a power loss after these syncs): data, then zeros
    const msgs = await readFile(join(queue.dir, MSGS))
    const acks = await readFile(join(queue.dir, ACKS))
    assert.ok(msgs.length > dataBytes(5) && acks.length > 8, 'zeros were written ahead')
    await store.close()
    await writeFile(join(queue.dir, MSGS), msgs)
    await writeFile(join(queue.dir, ACKS), acks)

    const logger = capturingLogger()
    const reopened = new MessageStore(dir, logger.log)
    const { store: again, messages } = await reopened.openQueue('/', 'q')
    assert.deepEqual(
      messages.map((m) => plain(m.message)),
      [0, 2, 3, 4].map((i) => plain(message(i))),
    )
    assert.deepEqual(logger.warnings(), [])
    assert.equal((await stat(join(queue.dir, MSGS))).size, dataBytes(5), 'the zeros after the messages are cut off')
    // Acks go on after the last entry, over the zeros
    again.ack(positions[3]!)
    await reopened.close()
    const third = capturingLogger()
    const last = new MessageStore(dir, third.log)
    const { messages: recovered } = await last.openQueue('/', 'q')
    assert.deepEqual(
      recovered.map((m) => plain(m.message)),
      [0, 2, 4].map((i) => plain(message(i))),
    )
    assert.deepEqual(third.warnings(), [])
    await last.close()
  })
})
