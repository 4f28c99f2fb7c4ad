// Recovery from damaged files: torn tails at every byte, corrupted bytes, garbage and unreadable files.
// Each case checks that exactly the complete records before the damage come back, that a warning names
// the file, and that openQueue never throws.
import assert from 'node:assert/strict'
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import fc from 'fast-check'
import { MessageStore } from '../../../src/store/message-store.js'
import { offsetOf, type StoredMessage } from '../../../src/store/record.js'
import { ACK_ENTRY_SIZE } from '../../../src/store/segment.js'
import { capturingLogger, filesIn, message, plain, withTempDir } from './store-helpers.js'

const SEGMENT = 'msgs.0000000001'

/** Writes the messages to one queue and closes the store; returns the queue dir and record offsets. */
async function storeMessages(dataDir: string, messages: StoredMessage[]): Promise<{ dir: string; offsets: number[] }> {
  const { log } = capturingLogger()
  const store = new MessageStore(dataDir, log)
  const { store: queue } = await store.openQueue('/', 'q')
  const offsets = messages.map((m) => offsetOf(queue.append(m)))
  await store.close()
  return { dir: queue.dir, offsets }
}

async function recover(dataDir: string) {
  const logger = capturingLogger()
  const store = new MessageStore(dataDir, logger.log)
  const { messages } = await store.openQueue('/', 'q')
  await store.close()
  return { messages: messages.map((m) => plain(m.message)), warnings: logger.warnings(), lines: logger.lines }
}

test('torn tail: cutting the last record at every byte keeps exactly the records before it', async () => {
  await withTempDir(async (dataDir) => {
    const messages = Array.from({ length: 4 }, (_, i) => message(i, 30))
    const { dir, offsets } = await storeMessages(dataDir, messages)
    const path = join(dir, SEGMENT)
    const full = await readFile(path)
    const lastStart = offsets.at(-1)!
    for (let cut = lastStart; cut < full.length; cut++) {
      await writeFile(path, full.subarray(0, cut))
      const { messages: recovered, warnings } = await recover(dataDir)
      assert.deepEqual(recovered, messages.slice(0, 3).map(plain), `cut at ${cut}`)
      if (cut === lastStart) {
        assert.deepEqual(warnings, [], 'a cut between records is a clean end')
      } else if (full.subarray(lastStart, cut).every((byte) => byte === 0)) {
        // Only zeros left of the record (its length starts with a zero byte): what a file written ahead of its
        // data ends with, so a clean end as well
        assert.deepEqual(warnings, [], `cut at ${cut}`)
      } else {
        assert.equal(warnings.length, 1, `cut at ${cut}`)
        assert.equal(warnings[0]!.file, path)
        assert.equal(warnings[0]!.droppedBytes, cut - lastStart)
      }
      assert.equal((await stat(path)).size, lastStart, 'the torn tail is truncated away')
    }
  })
})

const storedMessage = fc.record({
  exchange: fc.string({ maxLength: 20 }),
  routingKey: fc.string({ maxLength: 40 }),
  propertiesRaw: fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a)),
  body: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
})

test('torn tail at a random offset (property): the records wholly before the cut survive', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(storedMessage, { minLength: 1, maxLength: 12 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (messages, at) =>
        withTempDir(async (dataDir) => {
          const { dir, offsets } = await storeMessages(dataDir, messages)
          const path = join(dir, SEGMENT)
          const full = await readFile(path)
          const cut = Math.floor(at * full.length)
          await writeFile(path, full.subarray(0, cut))
          const ends = [...offsets.slice(1), full.length]
          const kept = messages.filter((_, i) => ends[i]! <= cut)
          const { messages: recovered } = await recover(dataDir)
          assert.deepEqual(recovered, kept.map(plain))
        }),
    ),
    { numRuns: 60 },
  )
})

// Damage inside a segment (a flipped bit, a damaged length): see damaged-records.test.ts

test('damage in one segment does not affect the segments after it', async () => {
  await withTempDir(async (dataDir) => {
    const { log } = capturingLogger()
    const store = new MessageStore(dataDir, log, { segmentSize: 200 })
    const { store: queue } = await store.openQueue('/', 'q')
    const messages = Array.from({ length: 12 }, (_, i) => message(i, 40))
    const positions = messages.map((m) => queue.append(m))
    await store.close()
    const segmentFiles = (await filesIn(queue.dir)).filter((name) => name.startsWith('msgs.'))
    assert.ok(segmentFiles.length >= 3)
    const middle = join(queue.dir, segmentFiles[1]!)
    const bytes = await readFile(middle)
    bytes[bytes.length - 3]! ^= 0x40
    await writeFile(middle, bytes)
    const { messages: recovered, warnings } = await recover(dataDir)
    const middleSegment = Number(segmentFiles[1]!.slice(5))
    const inMiddle = positions.filter((p) => Math.floor(p / 2 ** 32) === middleSegment)
    const lost = messages.findIndex((_, i) => positions[i] === inMiddle.at(-1))
    assert.deepEqual(recovered, messages.filter((_, i) => i !== lost).map(plain))
    assert.equal(warnings.length, 1)
    assert.equal(warnings[0]!.file, middle)
  })
})

test('garbage, empty and unexpected files are logged and never stop recovery', async () => {
  await withTempDir(async (dataDir) => {
    const messages = Array.from({ length: 3 }, (_, i) => message(i))
    const { dir } = await storeMessages(dataDir, messages)
    const garbage = join(dir, 'msgs.0000000007')
    await writeFile(garbage, Buffer.from('this is not a segment, just some text that happens to be here'))
    await writeFile(join(dir, 'msgs.0000000008'), Buffer.alloc(0))
    await writeFile(join(dir, 'msgs.0000000009'), Buffer.alloc(5000, 0xff))
    await writeFile(join(dir, 'acks.0000000009'), Buffer.alloc(7, 0xff))
    await writeFile(join(dir, 'acks.0000000010'), Buffer.alloc(8, 0))
    await writeFile(join(dir, 'notes.txt'), 'hello')
    await writeFile(join(dir, 'msgs.12'), 'bad name')
    const { messages: recovered, warnings } = await recover(dataDir)
    assert.deepEqual(recovered, messages.map(plain))
    const files = warnings.map((line) => line.file)
    assert.ok(files.includes(garbage))
    assert.ok(files.includes(join(dir, 'msgs.0000000009')))
    assert.ok(files.includes(join(dir, 'notes.txt')))
    assert.ok(files.includes(join(dir, 'msgs.12')))
    // Segments with no complete record, and the orphan acks file, are removed
    assert.deepEqual(await filesIn(dir), ['msgs.0000000001', 'msgs.12', 'name', 'notes.txt'])
  })
})

test('an unreadable segment is logged, left in place, and the rest of the queue recovers', async () => {
  await withTempDir(async (dataDir) => {
    const messages = Array.from({ length: 3 }, (_, i) => message(i))
    const { dir } = await storeMessages(dataDir, messages)
    // A directory where a segment file should be: opening works, reading fails with EISDIR
    await mkdir(join(dir, 'msgs.0000000005'))
    const { messages: recovered, lines } = await recover(dataDir)
    assert.deepEqual(recovered, messages.map(plain))
    const errors = lines.filter((line) => line.level >= 50)
    assert.equal(errors.length, 1)
    assert.equal(errors[0]!.file, join(dir, 'msgs.0000000005'))
    assert.ok((await filesIn(dir)).includes('msgs.0000000005'))
  })
})

test('a partial entry at the end of an acks file is cut off, so later acks stay aligned', async () => {
  await withTempDir(async (dataDir) => {
    const { log } = capturingLogger()
    let store = new MessageStore(dataDir, log)
    let opened = await store.openQueue('/', 'q')
    const positions = Array.from({ length: 5 }, (_, i) => opened.store.append(message(i)))
    await store.flush()
    opened.store.ack(positions[0]!)
    await store.close()
    const acksFile = join(opened.store.dir, 'acks.0000000001')
    await writeFile(acksFile, Buffer.concat([await readFile(acksFile), Buffer.from([0xab, 0xcd])]))

    const logger = capturingLogger()
    store = new MessageStore(dataDir, logger.log)
    opened = await store.openQueue('/', 'q')
    assert.equal(opened.messages.length, 4)
    assert.equal(logger.warnings().length, 1)
    assert.equal(logger.warnings()[0]!.file, acksFile)
    opened.store.ack(positions[2]!)
    await store.close()
    assert.equal((await stat(acksFile)).size, 2 * ACK_ENTRY_SIZE)

    const { messages: recovered } = await recover(dataDir)
    assert.deepEqual(
      recovered,
      [1, 3, 4].map((i) => plain(message(i))),
    )
  })
})

test('an unreadable or mismatched name file skips the queue in listQueues; openQueue rewrites it', async () => {
  await withTempDir(async (dataDir) => {
    const { dir } = await storeMessages(dataDir, [message(1)])
    await writeFile(join(dir, 'name'), '{"vhost": "/", "qu')
    const logger = capturingLogger()
    const store = new MessageStore(dataDir, logger.log)
    assert.deepEqual(await store.listQueues(), [])
    assert.equal(logger.warnings()[0]!.file, join(dir, 'name'))
    const { messages } = await store.openQueue('/', 'q')
    assert.equal(messages.length, 1)
    assert.deepEqual(await store.listQueues(), [{ vhost: '/', queue: 'q' }])
    await writeFile(join(dir, 'name'), JSON.stringify({ vhost: '/', queue: 'another' }))
    assert.deepEqual(await store.listQueues(), [])
    await store.close()
  })
})

test('a missing data directory is an empty store', async () => {
  await withTempDir(async (dataDir) => {
    const { log } = capturingLogger()
    const store = new MessageStore(join(dataDir, 'not', 'yet'), log)
    assert.deepEqual(await store.listQueues(), [])
    const { messages } = await store.openQueue('/', 'fresh')
    assert.deepEqual(messages, [])
    await store.close()
  })
})
