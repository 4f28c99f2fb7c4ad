// The message store's normal life: appends and acks survive a reopen, segments rotate and are deleted
// once fully acked, purge and queue deletion, reads from memory and from disk.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { MessageStore } from '../../../src/store/message-store.js'
import { offsetOf, slotOf } from '../../../src/store/record.js'
import { capturingLogger, filesIn, message, plain, withTempDir } from './store-helpers.js'

test('append, flush, reopen: the same messages come back in order', async () => {
  await withTempDir(async (dir) => {
    const { log, warnings } = capturingLogger()
    const store = new MessageStore(dir, log)
    const { store: queue, messages } = await store.openQueue('/', 'orders')
    assert.equal(messages.length, 0)
    const positions = []
    for (let i = 0; i < 100; i++) positions.push(queue.append(message(i, i * 7)))
    assert.equal(queue.messageCount, 100)
    await store.close()

    const reopened = new MessageStore(dir, log)
    const recovered = await reopened.openQueue('/', 'orders')
    assert.deepEqual(
      recovered.messages.map((m) => m.position),
      positions,
    )
    assert.deepEqual(
      recovered.messages.map((m) => plain(m.message)),
      positions.map((_, i) => plain(message(i, i * 7))),
    )
    assert.equal(recovered.store.messageCount, 100)
    await reopened.close()
    assert.deepEqual(warnings(), [])
  })
})

test('acks survive a reopen, and acking twice or an unknown position changes nothing', async () => {
  await withTempDir(async (dir) => {
    const { log } = capturingLogger()
    const store = new MessageStore(dir, log)
    const { store: queue } = await store.openQueue('/', 'q')
    const positions = Array.from({ length: 10 }, (_, i) => queue.append(message(i)))
    await store.flush()
    for (const i of [0, 3, 4, 9]) queue.ack(positions[i]!)
    queue.ack(positions[3]!)
    queue.ack(positions[3]! + 1)
    queue.ack(positions[9]! + 2 ** 32)
    assert.equal(queue.messageCount, 6)
    await store.close()

    const reopened = new MessageStore(dir, log)
    const { store: again, messages } = await reopened.openQueue('/', 'q')
    assert.deepEqual(
      messages.map((m) => m.position),
      [1, 2, 5, 6, 7, 8].map((i) => positions[i]),
    )
    assert.equal(again.messageCount, 6)
    // New records go to a fresh segment after a restart
    const next = again.append(message(10))
    assert.equal(slotOf(next), slotOf(positions[0]!) + 1)
    await reopened.close()
  })
})

test('segments rotate at the configured size and are deleted once fully acked', async () => {
  await withTempDir(async (dir) => {
    const { log } = capturingLogger()
    const store = new MessageStore(dir, log, { segmentSize: 1000 })
    const { store: queue } = await store.openQueue('/', 'rotating')
    const positions = Array.from({ length: 40 }, (_, i) => queue.append(message(i, 100)))
    await store.flush()
    const segments = [...new Set(positions.map(slotOf))]
    assert.ok(segments.length >= 5, `expected several segments, got ${segments.length}`)
    for (const position of positions) {
      const size = (await stat(join(queue.dir, `msgs.${String(slotOf(position)).padStart(10, '0')}`))).size
      assert.ok(size <= 1000, 'a segment stays under the configured size')
    }
    const first = segments[0]!
    const firstName = `msgs.${String(first).padStart(10, '0')}`
    assert.ok((await filesIn(queue.dir)).includes(firstName))

    // Ack all of the first segment except one record: nothing is deleted
    const inFirst = positions.filter((p) => slotOf(p) === first)
    for (const position of inFirst.slice(1)) queue.ack(position)
    await store.flush()
    assert.ok((await filesIn(queue.dir)).includes(firstName))
    assert.ok((await filesIn(queue.dir)).includes(`acks.${String(first).padStart(10, '0')}`))

    // The last ack completes it: both of its files go
    queue.ack(inFirst[0]!)
    await store.flush()
    await store.flush()
    const files = await filesIn(queue.dir)
    assert.ok(!files.includes(firstName), `files: ${files.join(' ')}`)
    assert.ok(!files.includes(`acks.${String(first).padStart(10, '0')}`))
    await store.close()

    const reopened = new MessageStore(dir, log, { segmentSize: 1000 })
    const { messages } = await reopened.openQueue('/', 'rotating')
    assert.deepEqual(
      messages.map((m) => m.position),
      positions.filter((p) => slotOf(p) !== first),
    )
    await reopened.close()
  })
})

test('a fully acked write segment is deleted once a later append rotates away from it', async () => {
  await withTempDir(async (dir) => {
    const { log } = capturingLogger()
    const store = new MessageStore(dir, log, { segmentSize: 500 })
    const { store: queue } = await store.openQueue('v', 'q')
    const first = queue.append(message(0, 300))
    queue.ack(first)
    await store.flush()
    const firstName = `msgs.${String(slotOf(first)).padStart(10, '0')}`
    assert.ok((await filesIn(queue.dir)).includes(firstName), 'the write segment stays while written to')
    const second = queue.append(message(1, 300))
    assert.equal(slotOf(second), slotOf(first) + 1)
    await store.flush()
    await store.flush()
    assert.ok(!(await filesIn(queue.dir)).includes(firstName))
    await store.close()
  })
})

test('recovery deletes segments that are fully acked', async () => {
  await withTempDir(async (dir) => {
    const { log } = capturingLogger()
    const store = new MessageStore(dir, log)
    const { store: queue } = await store.openQueue('/', 'q')
    const positions = Array.from({ length: 5 }, (_, i) => queue.append(message(i)))
    await store.flush()
    for (const position of positions) queue.ack(position)
    await store.close()
    // The write segment was fully acked but not deleted while open; recovery removes it
    assert.deepEqual(await filesIn(queue.dir), ['acks.0000000001', 'msgs.0000000001', 'name'])
    const reopened = new MessageStore(dir, log)
    const { messages } = await reopened.openQueue('/', 'q')
    assert.equal(messages.length, 0)
    assert.deepEqual(await filesIn(queue.dir), ['name'])
    await reopened.close()
  })
})

test('purge acks everything and removes every segment', async () => {
  await withTempDir(async (dir) => {
    const { log } = capturingLogger()
    const store = new MessageStore(dir, log, { segmentSize: 600 })
    const { store: queue } = await store.openQueue('/', 'purged')
    for (let i = 0; i < 20; i++) queue.append(message(i, 100))
    await store.flush()
    queue.purge()
    assert.equal(queue.messageCount, 0)
    const after = queue.append(message(99))
    await store.flush()
    await store.flush()
    assert.deepEqual(await filesIn(queue.dir), [`msgs.${String(slotOf(after)).padStart(10, '0')}`, 'name'])
    await store.close()
    const reopened = new MessageStore(dir, log, { segmentSize: 600 })
    const { messages } = await reopened.openQueue('/', 'purged')
    assert.deepEqual(
      messages.map((m) => plain(m.message)),
      [plain(message(99))],
    )
    await reopened.close()
  })
})

test('purge before the first commit writes nothing', async () => {
  await withTempDir(async (dir) => {
    const { log } = capturingLogger()
    const store = new MessageStore(dir, log)
    const { store: queue } = await store.openQueue('/', 'q')
    for (let i = 0; i < 5; i++) queue.append(message(i))
    queue.purge()
    await store.flush()
    await store.close()
    assert.deepEqual(await filesIn(queue.dir), ['name'])
  })
})

test('listQueues finds the stores on disk; deleteQueue removes a queue directory', async () => {
  await withTempDir(async (dir) => {
    const { log, warnings } = capturingLogger()
    const store = new MessageStore(dir, log)
    const a = await store.openQueue('/', 'a')
    const b = await store.openQueue('other vhost', 'b/with/slashes and ünïcödé')
    a.store.append(message(1))
    b.store.append(message(2))
    await store.flush()
    const sorted = (list: { vhost: string; queue: string }[]) => [...list].sort((x, y) => (x.queue < y.queue ? -1 : 1))
    assert.deepEqual(sorted(await store.listQueues()), [
      { vhost: '/', queue: 'a' },
      { vhost: 'other vhost', queue: 'b/with/slashes and ünïcödé' },
    ])
    await assert.rejects(store.openQueue('/', 'a'), /already open/)
    b.store.append(message(3))
    await store.deleteQueue('other vhost', 'b/with/slashes and ünïcödé')
    assert.equal(existsSync(b.store.dir), false)
    assert.throws(() => b.store.append(message(4)), /deleted/)
    assert.deepEqual(await store.listQueues(), [{ vhost: '/', queue: 'a' }])
    // A deleted queue can be declared again, empty
    const again = await store.openQueue('other vhost', 'b/with/slashes and ünïcödé')
    assert.equal(again.messages.length, 0)
    await store.close()
    assert.deepEqual(warnings(), [])
  })
})

test('read and readSync return a record from memory before the commit and from disk after it', async () => {
  await withTempDir(async (dir) => {
    const { log } = capturingLogger()
    const store = new MessageStore(dir, log, { segmentSize: 4096 })
    const { store: queue } = await store.openQueue('/', 'q')
    const big = { ...message(7), body: Buffer.alloc(200 * 1024, 7) }
    const positions = [queue.append(message(0)), queue.append(big), queue.append(message(2))]
    const expected = [plain(message(0)), plain(big), plain(message(2))]
    for (const [i, position] of positions.entries()) {
      assert.deepEqual(plain(queue.readSync(position)), expected[i])
      assert.deepEqual(plain(await queue.read(position)), expected[i])
    }
    await store.flush()
    for (const [i, position] of positions.entries()) {
      assert.deepEqual(plain(queue.readSync(position)), expected[i])
      assert.deepEqual(plain(await queue.read(position)), expected[i])
    }
    await assert.rejects(queue.read(positions[0]! + 1), /no message/)
    await store.close()

    // After a restart, from recovered segments
    const reopened = new MessageStore(dir, log, { segmentSize: 4096 })
    const { store: again } = await reopened.openQueue('/', 'q')
    for (const [i, position] of positions.entries()) {
      assert.deepEqual(plain(again.readSync(position)), expected[i])
      assert.deepEqual(plain(await again.read(position)), expected[i])
    }
    await reopened.close()
  })
})

test('a large body is stored from the caller buffer and reads back intact', async () => {
  await withTempDir(async (dir) => {
    const { log } = capturingLogger()
    const store = new MessageStore(dir, log)
    const { store: queue } = await store.openQueue('/', 'big')
    const body = Buffer.alloc(3 * 1024 * 1024)
    for (let i = 0; i < body.length; i += 4) body.writeUInt32BE(i, i)
    const position = queue.append({ exchange: 'x', routingKey: 'k', propertiesRaw: Buffer.alloc(0), body })
    queue.append(message(1))
    await store.close()
    const reopened = new MessageStore(dir, log)
    const { messages } = await reopened.openQueue('/', 'big')
    assert.equal(messages.length, 2)
    assert.equal(messages[0]!.position, position)
    assert.ok(messages[0]!.message.body.equals(body))
    assert.equal(offsetOf(messages[1]!.position), 8 + 8 + 1 + 1 + 1 + 1 + 4 + 4 + body.length)
    await reopened.close()
  })
})

test('names with reserved characters map to hashed directories holding a name file', async () => {
  await withTempDir(async (dir) => {
    const { log } = capturingLogger()
    const store = new MessageStore(dir, log)
    const { store: queue } = await store.openQueue('/', '../../etc')
    assert.ok(queue.dir.startsWith(join(dir, 'vhosts')))
    assert.match(queue.dir, /vhosts\/[0-9a-f]{40}\/queues\/[0-9a-f]{40}$/)
    assert.deepEqual(JSON.parse(await readFile(join(queue.dir, 'name'), 'utf8')), { vhost: '/', queue: '../../etc' })
    await store.close()
  })
})

test('exchange and routing key longer than 255 bytes are refused', async () => {
  await withTempDir(async (dir) => {
    const { log } = capturingLogger()
    const store = new MessageStore(dir, log)
    const { store: queue } = await store.openQueue('/', 'q')
    assert.throws(() => queue.append({ ...message(0), routingKey: 'é'.repeat(128) }), RangeError)
    assert.throws(() => queue.append({ ...message(0), exchange: 'x'.repeat(256) }), RangeError)
    assert.equal(queue.messageCount, 0)
    await store.close()
  })
})

test('segment ids past 2^21 wrap to a free slot, so positions stay exact and distinct', async () => {
  await withTempDir(async (dir) => {
    const { log } = capturingLogger()
    let store = new MessageStore(dir, log)
    let opened = await store.openQueue('/', 'long-lived')
    const old = [opened.store.append(message(0)), opened.store.append(message(1))]
    await store.close()
    // As if 2^21 segments had come and gone since segment 1: the next id's slot is segment 1's
    await writeFile(join(opened.store.dir, 'acks.' + String(2 ** 21).padStart(10, '0')), Buffer.alloc(0))

    store = new MessageStore(dir, log)
    opened = await store.openQueue('/', 'long-lived')
    const fresh = opened.store.append(message(2))
    assert.equal(slotOf(fresh), 2, 'slot 1 is taken by the live segment 1, so the new segment skips it')
    await store.flush()
    assert.ok((await filesIn(opened.store.dir)).includes('msgs.' + String(2 ** 21 + 2).padStart(10, '0')))
    opened.store.ack(old[0]!)
    assert.deepEqual(plain(await opened.store.read(fresh)), plain(message(2)))
    assert.deepEqual(plain(await opened.store.read(old[1]!)), plain(message(1)))
    await store.close()

    store = new MessageStore(dir, log)
    opened = await store.openQueue('/', 'long-lived')
    assert.deepEqual(
      opened.messages.map((m) => plain(m.message)),
      [plain(message(1)), plain(message(2))],
    )
    await store.close()
  })
})
