// The FIFO ready list against an array model: messages of every shape (inline, large, with BCC keys,
// non-ASCII names, paged out, expiring, redelivered) go through the entry objects and the packed records in
// random orders of push (as published, or as recovered from a store record), peek, shift, requeue,
// iteration and clear, and come out exactly as they went in.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Message, type QueueEntry } from '../../../src/broker/message.js'
import { FifoReadyList, HOT_LIMIT, PriorityReadyList, type ReadyList } from '../../../src/broker/queue/ready-list.js'
import { Chunk, PAGE_PENDING, decodePage, encodePage, type PageHost } from '../../../src/broker/queue/packed-pages.js'
import { MessageMemory } from '../../../src/broker/message-memory.js'
import { TransientPages, nodePageFileSystem, type PageFileSystem } from '../../../src/store/transient-pages.js'
import { createLogger } from '../../../src/util/logger.js'
import { errnoError } from '../../helpers/faulty-fs.js'
import { readdirSync, rmSync, unlink, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeProperties } from '../../../src/protocol/properties.js'
import type { BasicProperties } from '../../../src/protocol/generated/properties.js'
import { RECORD_HEADER_SIZE, RecordFields, encodeRecord, layoutOf } from '../../../src/store/record.js'

const PROPERTIES: BasicProperties[] = [
  {},
  { deliveryMode: 2 },
  { contentType: 'text/plain', priority: 3 },
  { headers: { a: 'b', n: 1 }, messageId: 'id-1' },
]

interface Shape {
  exchange: string
  routingKey: string
  properties: number
  bodySize: number
  bcc: boolean
  paged: boolean
  /** Pushed as recovered from the store (a record's fields), not as a Message */
  recovered: boolean
  expiresAt: number
}

const shapeArb: fc.Arbitrary<Shape> = fc.record({
  exchange: fc.constantFrom('', 'amq.direct', 'ex', 'échange', 'x'.repeat(255)),
  routingKey: fc.constantFrom('', 'rk', 'k1', 'clé', 'r'.repeat(200)),
  properties: fc.integer({ min: 0, max: PROPERTIES.length - 1 }),
  bodySize: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.constantFrom(4096, 4097, 70_000)),
  bcc: fc.boolean(),
  paged: fc.boolean(),
  recovered: fc.boolean(),
  expiresAt: fc.constantFrom(0, 1, 1_900_000_000_000.5),
})

type Op =
  | { op: 'push'; shape: Shape; count: number }
  | { op: 'shift' | 'peek' | 'entries' | 'redelivered' | 'clear' }
  | { op: 'requeue'; which: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({ op: fc.constant('push' as const), shape: shapeArb, count: fc.integer({ min: 1, max: 40 }) }),
  },
  { weight: 10, arbitrary: fc.record({ op: fc.constantFrom('shift' as const, 'peek' as const) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('requeue' as const), which: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('entries' as const, 'redelivered' as const) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
)

/** What an entry says, with its message's content as text, for comparing. */
function describeEntry(e: QueueEntry): string {
  const m = e.message
  const shortString = (text: string) => Buffer.concat([Buffer.of(Buffer.byteLength(text)), Buffer.from(text)])
  if (m?.exchangeWire) assert.deepEqual(m.exchangeWire, shortString(m.exchange))
  if (m?.routingKeyWire) assert.deepEqual(m.routingKeyWire, shortString(m.routingKey))
  const content = m
    ? [m.exchange, m.routingKey, m.propertiesRaw.toString('hex'), m.body.toString('hex'), m.bccKeys?.join(',')]
    : ['paged']
  return JSON.stringify([e.seq, e.size, e.redelivered, e.expiresAt, e.position, ...content])
}

function makeMessage(shape: Shape, seq: number): Message {
  const props = PROPERTIES[shape.properties]!
  const body = Buffer.alloc(shape.bodySize, seq % 251)
  if (body.length >= 8) body.writeDoubleBE(seq, 0)
  return new Message(
    shape.exchange,
    shape.routingKey,
    props,
    encodeProperties(props),
    body,
    shape.bcc ? ['b1'] : undefined,
  )
}

/** Pushes a message as recovery does: the fields of its store record, in a read buffer. */
function pushAsRecovered(list: FifoReadyList, entry: QueueEntry, message: Message, paged: boolean): void {
  const { exchange, routingKey, propertiesRaw, body } = message
  const record = { exchange, routingKey, propertiesRaw, body, expiresAt: entry.expiresAt }
  const layout = layoutOf(record)
  // Inside a larger buffer, at an offset, as in a segment read
  const buffer = Buffer.alloc(layout.totalBytes + 10, 0xee)
  encodeRecord(record, record.expiresAt, layout, buffer, 5, true)
  const fields = new RecordFields()
  assert.ok(fields.locate(buffer, 5 + RECORD_HEADER_SIZE, layout.totalBytes - RECORD_HEADER_SIZE))
  list.pushRecovered({ seq: entry.seq, redelivered: entry.redelivered, position: entry.position, fields, paged })
  buffer.fill(0) // the list keeps nothing of the read buffer
}

/**
 * A page area for lists that page out (a temporary directory, pages of at most 1 KiB, a budget of 0): the
 * third chunk on goes to a page as soon as a later one is made.
 */
interface PagingRig {
  pages: TransientPages
  host: PageHost
  /** Messages and body bytes paged out, as the host was told */
  paged: { count: number; bytes: number }
  counted: { written: number }
  /** Pages lost (their messages dropped) as the host was told; undefined: none may be */
  lost: { pages: number; messages: number; bytes: number } | undefined
  /** An errno every read fails with, while set */
  readFault: { code: string | undefined }
  /** Resolves at the next headLoaded */
  loaded(): Promise<void>
  /** Resolves once every page file the area removed is gone (it unlinks without waiting) */
  removalsSettled(): Promise<void>
}

function pagingRig(dir: string): PagingRig {
  const counted = { written: 0 }
  let removing = 0
  const readFault: { code: string | undefined } = { code: undefined }
  const fault = (): void => {
    if (readFault.code !== undefined) throw errnoError(readFault.code, 'read')
  }
  const fileSystem: PageFileSystem = {
    ...nodePageFileSystem,
    write: (path, buffers) => {
      counted.written++
      return nodePageFileSystem.write(path, buffers)
    },
    read: async (path) => {
      fault()
      return nodePageFileSystem.read(path)
    },
    readSync: (path) => {
      fault()
      return nodePageFileSystem.readSync(path)
    },
    remove: (path) => {
      removing++
      unlink(path, () => removing--)
    },
  }
  const pages = new TransientPages(dir, createLogger('silent'), { maxChunkBytes: 1024, fileSystem })
  pages.open()
  const paged = { count: 0, bytes: 0 }
  let onLoaded: (() => void) | undefined
  const host: PageHost = {
    pages,
    memory: new MessageMemory(0, pages),
    pagedOut: (count, bytes) => {
      paged.count += count
      paged.bytes += bytes
    },
    pagedIn: (count, bytes) => {
      paged.count -= count
      paged.bytes -= bytes
    },
    headLoaded: () => onLoaded?.(),
    readFailing: (err) => assert.fail(`no read should fail: ${String(err)}`),
    readResumed: () => {},
    lost: (err, count, bytes) => {
      if (rig.lost === undefined) assert.fail(`no page should be lost: ${String(err)}`)
      rig.lost.pages++
      rig.lost.messages += count
      rig.lost.bytes += bytes
      // (as the queue's counts: they were paged out)
      paged.count -= count
      paged.bytes -= bytes
    },
  }
  // Over the budget all along: pages are written whenever a chunk is completed
  host.memory.used = 1
  const rig: PagingRig = {
    pages,
    host,
    paged,
    counted,
    lost: undefined,
    readFault,
    loaded: () => new Promise((resolve) => (onLoaded = resolve)),
    removalsSettled: async () => {
      while (removing > 0) await new Promise((resolve) => setImmediate(resolve))
    },
  }
  return rig
}

/** Until no page is being written (and what its end changes is done). */
async function writesSettled(pages: TransientPages): Promise<void> {
  while (pages.writes > 0) await new Promise((resolve) => setImmediate(resolve))
  await new Promise((resolve) => setImmediate(resolve))
}

async function runOps(ops: Op[], hotLimit: number, rig: PagingRig | undefined): Promise<void> {
  const list = new FifoReadyList(hotLimit, rig?.host)
  /** The head, once its page is in (read now, or awaited: both ways a queue has) */
  let turn = 0
  const head = async (): Promise<QueueEntry | undefined> => {
    let entry = list.peek()
    if (entry === PAGE_PENDING) {
      if (turn++ % 2 === 0) assert.ok(list.loadHeadNow())
      else await rig!.loaded()
      entry = list.peek()
    }
    assert.notEqual(entry, PAGE_PENDING)
    return entry
  }
  const model: QueueEntry[] = []
  const taken: QueueEntry[] = []
  let seq = 0
  for (const o of ops) {
    switch (o.op) {
      case 'push':
        for (let i = 0; i < o.count; i++) {
          const recovered = o.shape.recovered && !o.shape.bcc
          const message = makeMessage(recovered ? { ...o.shape, bcc: false } : o.shape, seq)
          const stored = recovered || o.shape.paged || seq % 3 === 0
          const entry: QueueEntry = {
            message: o.shape.paged ? null : message,
            size: message.body.length,
            seq,
            redelivered: seq % 5 === 0,
            expiresAt: o.shape.expiresAt,
            position: stored ? 2 ** 32 * (seq % 7) + seq : -1,
          }
          seq += 1 + (seq % 2)
          model.push({ ...entry })
          if (recovered) pushAsRecovered(list, entry, message, o.shape.paged)
          else list.push(entry, message)
        }
        break
      case 'peek': {
        const first = await head()
        assert.equal(first && describeEntry(first), model[0] && describeEntry(model[0]))
        if (first) assert.equal(list.shift(), first, 'shift hands out the entry peek made')
        if (first) taken.push(first)
        if (first) model.shift()
        break
      }
      case 'shift': {
        await head()
        const e = list.shift()
        const expected = model.shift()
        assert.equal(e && describeEntry(e), expected && describeEntry(expected))
        if (e) taken.push(e)
        break
      }
      case 'requeue': {
        if (taken.length === 0 || taken[0]!.message === null) break
        const [e] = taken.splice(o.which % taken.length, 1)
        if (!e || e.message === null) break
        e.redelivered = true
        list.requeue(e)
        let at = 0
        while (at < model.length && model[at]!.seq < e.seq) at++
        model.splice(at, 0, { ...e })
        break
      }
      case 'entries':
        assert.deepEqual([...list.entries()].map(describeEntry), model.map(describeEntry))
        break
      case 'redelivered': {
        const positions: number[] = []
        list.redeliveredPositions(positions)
        assert.deepEqual(
          positions,
          model.filter((e) => e.redelivered && e.position >= 0).map((e) => e.position),
        )
        break
      }
      case 'clear': {
        const seen: [number, number, boolean][] = []
        list.clear((position, size, inMemory) => seen.push([position, size, inMemory]))
        if (rig === undefined)
          assert.deepEqual(
            seen,
            model.map((e) => [e.position, e.size, e.message !== null]),
          )
        else {
          // Of a paged-out chunk only its stored messages are told of (as not in memory)
          const stored = (list: [number, number, boolean][]) => list.filter(([position]) => position >= 0)
          const expected = model.map((e): [number, number, boolean] => [e.position, e.size, e.message !== null])
          assert.deepEqual(
            stored(seen).map(([position, size]) => [position, size]),
            stored(expected).map(([position, size]) => [position, size]),
          )
          const inMemory = seen.filter(([, , m]) => m).length
          assert.equal(inMemory + rig.paged.count, expected.filter(([, , m]) => m).length)
          rig.paged.count = 0
          rig.paged.bytes = 0
        }
        model.length = 0
        break
      }
    }
    assert.equal(list.length, model.length)
    if (rig && turn % 3 === 0) await writesSettled(rig.pages)
  }
  while (model.length > 0) {
    await head()
    assert.equal(describeEntry(list.shift()!), describeEntry(model.shift()!))
  }
  assert.equal(list.shift(), undefined)
  assert.equal(list.packedBytes, 0, 'a drained list holds no chunk')
  if (rig) {
    await writesSettled(rig.pages)
    assert.deepEqual(rig.paged, { count: 0, bytes: 0 }, 'whatever was paged out came back')
    assert.equal(rig.pages.files, 0, 'a drained list leaves no page')
  }
}

describe('FifoReadyList', () => {
  test('gives back every message as it was pushed, in seq order, whatever is packed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 60 }), fc.integer({ min: 0, max: 6 }), (ops, hotLimit) =>
        runOps(ops, hotLimit, undefined),
      ),
      { numRuns: 300 },
    )
  })

  test('... and the same when chunks are paged out to files and read back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'warren-pages-'))
    const rig = pagingRig(dir)
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { maxLength: 60 }), fc.integer({ min: 0, max: 6 }), async (ops, hotLimit) => {
          rig.paged.count = 0
          rig.paged.bytes = 0
          await runOps(ops, hotLimit, rig)
        }),
        { numRuns: 300 },
      )
      assert.ok(rig.counted.written > 100, `pages written: ${rig.counted.written}`)
    } finally {
      rig.pages.close()
      await rm(dir, { recursive: true, force: true })
    }
  })

  for (const kind of ['FIFO', 'priority'] as const)
    test(`a page that is gone or damaged loses its chunk, the ${kind} list goes on in order; a fault that passes loses nothing`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'warren-pages-'))
      const rig = pagingRig(dir)
      rig.lost = { pages: 0, messages: 0, bytes: 0 }
      const shape: Shape = {
        exchange: 'x',
        routingKey: 'k',
        // (priority 3)
        properties: kind === 'FIFO' ? 0 : 2,
        bodySize: 100,
        bcc: false,
        paged: false,
        expiresAt: 0,
        recovered: false,
      }
      try {
        // (a priority level keeps its first HOT_LIMIT messages as objects, never paged)
        const list: ReadyList = kind === 'FIFO' ? new FifoReadyList(0, rig.host) : new PriorityReadyList(3, rig.host)
        const COUNT = kind === 'FIFO' ? 400 : HOT_LIMIT + 400
        for (let seq = 0; seq < COUNT; seq++) {
          const message = makeMessage(shape, seq)
          list.push({ message, size: 100, seq, redelivered: false, expiresAt: 0, position: -1 }, message)
          // (one page is written at a time: the budget counts those being written as gone)
          if (seq % 10 === 0) await writesSettled(rig.pages)
        }
        await writesSettled(rig.pages)
        const files = readdirSync(rig.pages.dir).sort((a, b) => Number(a) - Number(b))
        assert.ok(files.length > 6, `pages: ${files.length}`)
        // The first page written gone, the last overwritten, one in the middle cut short
        rmSync(join(rig.pages.dir, files[0]!))
        writeFileSync(join(rig.pages.dir, files[files.length - 1]!), Buffer.alloc(300, 1))
        const middle = join(rig.pages.dir, files[3]!)
        writeFileSync(middle, nodePageFileSystem.readSync(middle).subarray(0, 20))
        const seqs: number[] = []
        let turn = 0
        while (list.length > 0) {
          if (list.peek() === PAGE_PENDING) {
            if (turn++ % 2 === 0) {
              // A fault that passes: not read now, nothing lost
              rig.readFault.code = 'EMFILE'
              assert.equal(list.loadHeadNow(), false)
              rig.readFault.code = undefined
              assert.ok(list.loadHeadNow())
            } else await rig.loaded()
            continue
          }
          const entry = list.shift()
          assert.ok(entry, `a message while the list holds ${list.length}`)
          seqs.push(entry.seq)
        }
        assert.equal(rig.lost.pages, 3)
        assert.equal(rig.lost.messages, COUNT - seqs.length)
        assert.equal(rig.lost.bytes, 100 * rig.lost.messages)
        assert.deepEqual(
          [...seqs].sort((a, b) => a - b),
          seqs,
          'in order',
        )
        assert.equal(seqs[seqs.length - 1], COUNT - 1)
        await writesSettled(rig.pages)
        assert.deepEqual(rig.paged, { count: 0, bytes: 0 })
        assert.equal(rig.pages.files, 0)
        await rig.removalsSettled()
        assert.deepEqual(readdirSync(rig.pages.dir), [])
      } finally {
        rig.pages.close()
        await rm(dir, { recursive: true, force: true })
      }
    })

  test('a page keeps its objects (large bodies, BCC keys) and is read back only by the run that wrote it', () => {
    const chunk = new Chunk(Buffer.from('records'))
    chunk.end = 7
    const large = new Message('é', 'k', undefined, Buffer.from([1, 2]), Buffer.alloc(5000, 7), ['a', 'b'])
    const none = new Message('', '', undefined, Buffer.alloc(0), Buffer.alloc(4097), [])
    chunk.objects = [large, none]
    const page = Buffer.concat(encodePage(chunk, 42))
    const back = new Chunk(Buffer.alloc(0))
    back.end = 7
    assert.throws(() => decodePage(back, page, 43), /not written by this broker/)
    decodePage(back, page, 42)
    assert.equal(back.bytes!.toString(), 'records')
    assert.deepEqual(
      back.objects!.map((m) => [m.exchange, m.routingKey, m.propertiesRaw, m.body, m.bccKeys]),
      [large, none].map((m) => [m.exchange, m.routingKey, m.propertiesRaw, m.body, m.bccKeys]),
    )
    back.end = 8
    assert.throws(() => decodePage(back, page, 42), /damaged/)
  })

  test('records written from messages and from store records may follow each other in any order', () => {
    const list = new FifoReadyList(0)
    const a = { exchange: 'ex-a', routingKey: 'a', properties: 1, bodySize: 10, bcc: false, paged: false, expiresAt: 0 }
    const b = { ...a, exchange: 'ex-b', routingKey: 'b', properties: 2 }
    const order: [Shape, boolean][] = [
      [{ ...a, recovered: false }, false],
      [{ ...b, recovered: true }, true],
      [{ ...a, recovered: false }, false],
      [{ ...a, recovered: true }, true],
      [{ ...b, recovered: true }, true],
      [{ ...b, recovered: false }, false],
      [{ ...a, recovered: true }, true],
      [{ ...a, recovered: false }, false],
    ]
    const expected: string[] = []
    order.forEach(([shape, recovered], seq) => {
      const message = makeMessage(shape, seq)
      const entry: QueueEntry = { message, size: 10, seq, redelivered: false, expiresAt: 0, position: seq }
      expected.push(describeEntry(entry))
      if (recovered) pushAsRecovered(list, entry, message, false)
      else list.push(entry, message)
    })
    assert.deepEqual([...list.entries()].map(describeEntry), expected)
  })

  test('packs a long queue into chunks and frees them as the head passes', () => {
    const list = new FifoReadyList(16)
    const props = { deliveryMode: 1 }
    const n = 700_000
    for (let seq = 0; seq < n; seq++) {
      const m = new Message('ex', 'rk', props, encodeProperties(props), Buffer.alloc(100, seq % 256))
      list.push({ message: m, size: 100, seq, redelivered: false, expiresAt: 0, position: -1 }, m)
    }
    const full = list.packedBytes
    // about 115 bytes a message: the body, 13 of flags, seq and size, and the properties (2 bytes, and their
    // length) written again only at each chunk's first record
    assert.ok(full > n * 100 && full < n * 120, `packed into ${full} bytes`)
    for (let seq = 0; seq < 690_000; seq++) assert.equal(list.shift()!.seq, seq)
    assert.ok(list.packedBytes < full * 0.5, `mostly drained still holds ${list.packedBytes} of ${full} bytes`)
    for (let seq = 690_000; seq < n; seq++) {
      const e = list.shift()!
      assert.equal(e.seq, seq)
      assert.equal(e.message!.body[99], seq % 256)
      assert.equal(e.message!.properties.deliveryMode, 1)
    }
    assert.equal(list.packedBytes, 0)
  })
})
