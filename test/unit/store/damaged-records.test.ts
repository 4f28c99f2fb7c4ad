// Damage inside a segment or an acks file costs only what it hits: a flipped bit or a damaged length field
// loses that one record and recovery resynchronises on the next; a garbage or zero-filled acks tail is
// ignored (never read as "offset 0 acked"). Each case is logged with the file and the offset.
import assert from 'node:assert/strict'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import fc from 'fast-check'
import { MessageStore } from '../../../src/store/message-store.js'
import { offsetOf, type StoredMessage } from '../../../src/store/record.js'
import { capturingLogger, filesIn, message, plain, withTempDir } from './store-helpers.js'

const SEGMENT = 'msgs.0000000001'
const ACKS = 'acks.0000000001'

/** Writes the messages to one queue, acks those listed, and closes the store. */
async function storeMessages(
  dataDir: string,
  messages: StoredMessage[],
  acked: number[] = [],
): Promise<{ dir: string; offsets: number[]; positions: number[] }> {
  const { log } = capturingLogger()
  const store = new MessageStore(dataDir, log)
  const { store: queue } = await store.openQueue('/', 'q')
  const positions = messages.map((m) => queue.append(m))
  await store.flush()
  for (const i of acked) queue.ack(positions[i]!)
  await store.close()
  return { dir: queue.dir, offsets: positions.map(offsetOf), positions }
}

async function recover(dataDir: string) {
  const logger = capturingLogger()
  const store = new MessageStore(dataDir, logger.log)
  const opened = await store.openQueue('/', 'q')
  // Every recovered record can also be read back from the file (the read path finds where it ends)
  const readBack = await Promise.all(opened.messages.map((m) => opened.store.read(m.position)))
  await store.close()
  return {
    messages: opened.messages.map((m) => plain(m.message)),
    readBack: readBack.map(plain),
    positions: opened.messages.map((m) => m.position),
    warnings: logger.warnings(),
  }
}

async function damage(path: string, at: number, flip: number): Promise<void> {
  const bytes = await readFile(path)
  bytes[at]! ^= flip
  await writeFile(path, bytes)
}

test('a flipped bit in a middle record loses only that record; the file is not cut', async () => {
  await withTempDir(async (dataDir) => {
    const messages = Array.from({ length: 5 }, (_, i) => message(i, 40))
    const { dir, offsets } = await storeMessages(dataDir, messages)
    const path = join(dir, SEGMENT)
    const size = (await stat(path)).size
    await damage(path, offsets[2]! + 30, 0x08)
    const { messages: recovered, readBack, warnings } = await recover(dataDir)
    const expected = messages.filter((_, i) => i !== 2).map(plain)
    assert.deepEqual(recovered, expected)
    assert.deepEqual(readBack, expected)
    assert.equal(warnings.length, 1)
    assert.equal(warnings[0]!.file, path)
    assert.equal(warnings[0]!.offset, offsets[2])
    assert.equal(warnings[0]!.skippedBytes, offsets[3]! - offsets[2]!)
    assert.equal((await stat(path)).size, size, 'the records after the damage are kept in place')
  })
})

test('a damaged length field (larger, smaller, zero, huge) loses only its record', async () => {
  for (const length of [0, 7, 30, 61, 200, 5000, 0x7fffffff]) {
    await withTempDir(async (dataDir) => {
      const messages = Array.from({ length: 5 }, (_, i) => message(i, 40))
      const { dir, offsets } = await storeMessages(dataDir, messages)
      const path = join(dir, SEGMENT)
      const bytes = await readFile(path)
      bytes.writeUInt32BE(length, offsets[1]!)
      await writeFile(path, bytes)
      const { messages: recovered, readBack, warnings } = await recover(dataDir)
      const expected = messages.filter((_, i) => i !== 1).map(plain)
      assert.deepEqual(recovered, expected, `length ${length}`)
      assert.deepEqual(readBack, expected)
      assert.equal(warnings.length, 1)
      assert.equal(warnings[0]!.offset, offsets[1])
    })
  }
})

const storedMessage = fc.record({
  exchange: fc.string({ maxLength: 20 }),
  routingKey: fc.string({ maxLength: 40 }),
  propertiesRaw: fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a)),
  body: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
})

test('a corrupted byte anywhere loses only the record it is in (property)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(storedMessage, { minLength: 1, maxLength: 10 }),
      fc.double({ min: 0, max: 0.9999, noNaN: true }),
      fc.integer({ min: 1, max: 255 }),
      (messages, at, flip) =>
        withTempDir(async (dataDir) => {
          const { dir, offsets } = await storeMessages(dataDir, messages)
          const path = join(dir, SEGMENT)
          const size = (await stat(path)).size
          const position = Math.floor(at * size)
          await damage(path, position, flip)
          const damaged = offsets.filter((offset) => offset <= position).length - 1
          const { messages: recovered, readBack, warnings } = await recover(dataDir)
          const expected = messages.filter((_, i) => i !== damaged).map(plain)
          assert.deepEqual(recovered, expected)
          assert.deepEqual(readBack, expected)
          assert.equal(warnings.length, 1)
          assert.equal(warnings[0]!.file, path)
          assert.equal(warnings[0]!.offset, offsets[damaged])
        }),
    ),
    { numRuns: 100 },
  )
})

test('a zeroed stretch over two records is skipped as one gap; acks after it still apply', async () => {
  await withTempDir(async (dataDir) => {
    const messages = Array.from({ length: 8 }, (_, i) => message(i, 40))
    const { dir, offsets, positions } = await storeMessages(dataDir, messages, [6])
    const path = join(dir, SEGMENT)
    const bytes = await readFile(path)
    bytes.fill(0, offsets[2]! + 5, offsets[4]! + 6)
    await writeFile(path, bytes)
    const first = await recover(dataDir)
    assert.deepEqual(
      first.messages,
      [0, 1, 5, 7].map((i) => plain(messages[i]!)),
    )
    assert.equal(first.warnings.length, 1)
    assert.equal(first.warnings[0]!.skippedBytes, offsets[5]! - offsets[2]!)

    // Acking the rest deletes the segment, damaged bytes and all
    const { log } = capturingLogger()
    const store = new MessageStore(dataDir, log)
    const { store: queue } = await store.openQueue('/', 'q')
    queue.ack(positions[0]!)
    queue.ack(positions[7]!)
    await store.close()
    assert.deepEqual(
      (await recover(dataDir)).messages,
      [1, 5].map((i) => plain(messages[i]!)),
    )
    const again = new MessageStore(dataDir, log)
    const reopened = await again.openQueue('/', 'q')
    reopened.store.ack(positions[1]!)
    reopened.store.ack(positions[5]!)
    await again.close()
    assert.ok(!(await filesIn(dir)).includes(SEGMENT))
  })
})

test('a torn tail is still cut off', async () => {
  await withTempDir(async (dataDir) => {
    const messages = Array.from({ length: 4 }, (_, i) => message(i, 40))
    const { dir, offsets } = await storeMessages(dataDir, messages)
    const path = join(dir, SEGMENT)
    const bytes = await readFile(path)
    // The last record half written, then zeros where the file had grown
    await writeFile(path, Buffer.concat([bytes.subarray(0, offsets[3]! + 20), Buffer.alloc(4096)]))
    const { messages: recovered, warnings } = await recover(dataDir)
    assert.deepEqual(recovered, messages.slice(0, 3).map(plain))
    assert.equal(warnings.length, 1)
    assert.equal(warnings[0]!.droppedBytes, offsets[3]! + 20 + 4096 - offsets[3]!)
    assert.equal((await stat(path)).size, offsets[3])
  })
})

test('a zero-filled acks tail is not "offset 0 acked": it is read as the zeros written ahead of the entries', async () => {
  await withTempDir(async (dataDir) => {
    const messages = Array.from({ length: 4 }, (_, i) => message(i))
    const { dir, positions } = await storeMessages(dataDir, messages, [2])
    const acks = join(dir, ACKS)
    const valid = await readFile(acks)
    await writeFile(acks, Buffer.concat([valid, Buffer.alloc(64)]))
    const logger = capturingLogger()
    const store = new MessageStore(dataDir, logger.log)
    const { store: queue, messages: recovered } = await store.openQueue('/', 'q')
    assert.deepEqual(
      recovered.map((m) => plain(m.message)),
      [0, 1, 3].map((i) => plain(messages[i]!)),
    )
    assert.deepEqual(logger.warnings(), [])
    // A later ack is written over the zeros, right after the last entry
    queue.ack(positions[0]!)
    await store.close()
    assert.deepEqual(
      (await recover(dataDir)).messages,
      [1, 3].map((i) => plain(messages[i]!)),
    )
  })
})

test('garbage after the last ack entry is ignored, logged and cut off', async () => {
  await withTempDir(async (dataDir) => {
    const messages = Array.from({ length: 4 }, (_, i) => message(i))
    const { dir } = await storeMessages(dataDir, messages, [2])
    const acks = join(dir, ACKS)
    const valid = await readFile(acks)
    await writeFile(acks, Buffer.concat([valid, Buffer.alloc(64, 0x5a), Buffer.alloc(64)]))
    const { messages: recovered, warnings } = await recover(dataDir)
    assert.deepEqual(
      recovered,
      [0, 1, 3].map((i) => plain(messages[i]!)),
    )
    assert.equal(warnings.length, 1)
    assert.equal(warnings[0]!.file, acks)
    assert.equal((await stat(acks)).size, valid.length, 'the garbage tail is cut off')
  })
})

test('a truncated ack entry is cut off and later acks stay aligned', async () => {
  await withTempDir(async (dataDir) => {
    const messages = Array.from({ length: 5 }, (_, i) => message(i))
    const { dir, positions } = await storeMessages(dataDir, messages, [0, 1])
    const acks = join(dir, ACKS)
    const valid = await readFile(acks)
    // The second entry written only in part
    await writeFile(acks, valid.subarray(0, valid.length - 3))
    const logger = capturingLogger()
    const store = new MessageStore(dataDir, logger.log)
    const { store: queue, messages: recovered } = await store.openQueue('/', 'q')
    assert.deepEqual(
      recovered.map((m) => plain(m.message)),
      [1, 2, 3, 4].map((i) => plain(messages[i]!)),
    )
    assert.equal(logger.warnings().length, 1)
    assert.equal(logger.warnings()[0]!.file, acks)
    queue.ack(positions[3]!)
    await store.close()
    assert.deepEqual(
      (await recover(dataDir)).messages,
      [1, 2, 4].map((i) => plain(messages[i]!)),
    )
  })
})

test('a damaged ack entry in the middle is ignored (its message comes back), the others apply', async () => {
  await withTempDir(async (dataDir) => {
    const messages = Array.from({ length: 5 }, (_, i) => message(i))
    const { dir } = await storeMessages(dataDir, messages, [0, 2, 4])
    const acks = join(dir, ACKS)
    const entry = (await stat(acks)).size / 3
    await damage(acks, entry + 1, 0x10)
    const { messages: recovered, warnings } = await recover(dataDir)
    assert.deepEqual(
      recovered,
      [1, 2, 3].map((i) => plain(messages[i]!)),
    )
    assert.equal(warnings.length, 1)
    assert.equal(warnings[0]!.file, acks)
  })
})

test('an acks file in the old format (bare u32 offsets) does not stop recovery', async () => {
  await withTempDir(async (dataDir) => {
    const messages = Array.from({ length: 4 }, (_, i) => message(i))
    const { dir, offsets } = await storeMessages(dataDir, messages)
    const old = Buffer.alloc(12)
    for (const [i, m] of [0, 1, 3].entries()) old.writeUInt32BE(offsets[m]!, i * 4)
    await writeFile(join(dir, ACKS), old)
    const { messages: recovered, warnings } = await recover(dataDir)
    // The acks cannot be trusted: the messages come back (redelivered rather than lost)
    assert.deepEqual(recovered, messages.map(plain))
    assert.ok(warnings.length >= 1)
  })
})
