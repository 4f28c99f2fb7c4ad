// Fuzzing the codec with fast-check: hostile bytes fed to FrameParser and the decoders must either decode
// or throw an AmqpError (ConnectionError / ChannelError) — never a RangeError, TypeError or stack
// overflow, never a hang — and decode(encode(x)) must give x back for arbitrary methods, properties and
// tables. Runs are bounded so the whole file takes a few seconds.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { AmqpError } from '../../src/protocol/errors.js'
import { encodeTable, readTable } from '../../src/protocol/field-table.js'
import { FrameParser, withPayload } from '../../src/protocol/frame-parser.js'
import { METHODS, decodeMethod, encodeMethod } from '../../src/protocol/generated/methods.js'
import { decodeBasicProperties, encodeBasicProperties } from '../../src/protocol/generated/properties.js'
import { Reader } from '../../src/protocol/reader.js'
import { FRAME_END, Writer } from '../../src/protocol/writer.js'
import { parseCredentials } from '../../src/server/sasl.js'
import { anyMethod, basicProperties, channelId, fieldTable } from '../unit/protocol/arbitraries.js'

const TIMEOUT = { timeout: 10_000 }
const FRAME_MAX = 4096

/** Runs `f`; an AmqpError is an acceptable outcome, anything else is rethrown with context. */
function decodesOrRefuses(what: string, f: () => void): 'ok' | 'refused' {
  try {
    f()
    return 'ok'
  } catch (err) {
    if (err instanceof AmqpError) return 'refused'
    throw new Error(`${what}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, { cause: err })
  }
}

/** What the connection does with a frame's payload: decode a method or a content header. */
function decodeFrame(type: number, payload: Buffer): void {
  if (type === 1) {
    decodeMethod(new Reader(payload))
  } else if (type === 2) {
    const r = new Reader(payload)
    r.u16()
    r.u16()
    r.u64()
    decodeBasicProperties(r)
  }
}

/** Pushes chunks through a parser that decodes every frame, stopping at the first protocol error. */
function feed(chunks: Buffer[]): 'ok' | 'refused' {
  const parser = new FrameParser(
    withPayload((type, _channel, payload) => decodeFrame(type, payload)),
    FRAME_MAX,
  )
  return decodesOrRefuses('stream', () => {
    for (const c of chunks) parser.push(c)
  })
}

function frame(type: number, channel: number, payload: Buffer, end = FRAME_END): Buffer {
  const b = Buffer.alloc(8 + payload.length)
  b[0] = type
  b.writeUInt16BE(channel, 1)
  b.writeUInt32BE(payload.length, 3)
  payload.copy(b, 7)
  b[7 + payload.length] = end
  return b
}

function encodePayload(m: Parameters<typeof encodeMethod>[2]): Buffer {
  const w = new Writer(256)
  encodeMethod(w, 1, m)
  const bytes = Buffer.concat(w.take())
  return bytes.subarray(7, bytes.length - 1)
}

/** Random edits of a buffer: flip, overwrite with a big length, truncate, extend, insert. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    kind: fc.constant('bigLength' as const),
    at: fc.nat(),
    value: fc.constantFrom(0xffff_ffff, 0x7fff_ffff, 0x0001_0000, 256),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ maxLength: 20 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
)

interface Edit {
  kind: 'flip' | 'bigLength' | 'truncate' | 'extend' | 'insert'
  at?: number
  value?: number
  bytes?: Uint8Array
}

function mutate(buf: Buffer, edits: Edit[]): Buffer {
  let b = Buffer.from(buf)
  for (const e of edits) {
    const at = b.length === 0 ? 0 : (e.at ?? 0) % b.length
    switch (e.kind) {
      case 'flip':
        if (b.length > 0) b[at] = e.value!
        break
      case 'bigLength':
        if (b.length >= at + 4) b.writeUInt32BE(e.value!, at)
        break
      case 'truncate':
        b = b.subarray(0, at)
        break
      case 'extend':
        b = Buffer.concat([b, Buffer.from(e.bytes!)])
        break
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.from(e.bytes!), b.subarray(at)])
        break
    }
  }
  return Buffer.from(b) // exactly its own bytes: a decoder reading past the end must notice
}

const KNOWN_IDS = Object.values(METHODS).map((m) => [m.classId, m.methodId] as const)
const TABLE_TYPES = [...'tbBsuIilfdDSATFVx'].map((c) => c.charCodeAt(0))

describe('fuzz: hostile bytes never escape as anything but an AmqpError', () => {
  test('random byte streams, in random chunks', TIMEOUT, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
        const buf = Buffer.from(bytes)
        const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b)
        const chunks: Buffer[] = []
        let prev = 0
        for (const p of points) {
          chunks.push(buf.subarray(prev, p))
          prev = p
        }
        chunks.push(buf.subarray(prev))
        feed(chunks)
      }),
      { numRuns: 1500 },
    )
  })

  test('well-framed random payloads of every frame type', TIMEOUT, () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            type: fc.constantFrom(1, 2, 3, 8, 0, 4, 206),
            channel: channelId,
            payload: fc.uint8Array({ maxLength: 300 }),
          }),
          { minLength: 1, maxLength: 10 },
        ),
        (frames) => {
          feed([Buffer.concat(frames.map((f) => frame(f.type, f.channel, Buffer.from(f.payload))))])
        },
      ),
      { numRuns: 1500 },
    )
  })

  test('method frames with a known class and method id and random arguments', TIMEOUT, () => {
    fc.assert(
      fc.property(fc.constantFrom(...KNOWN_IDS), fc.uint8Array({ maxLength: 200 }), ([classId, methodId], args) => {
        const payload = Buffer.alloc(4 + args.length)
        payload.writeUInt16BE(classId, 0)
        payload.writeUInt16BE(methodId, 2)
        payload.set(args, 4)
        decodesOrRefuses(`${classId}/${methodId}`, () => decodeMethod(new Reader(payload)))
      }),
      { numRuns: 6000 },
    )
  })

  test('mutated encodings of arbitrary methods', TIMEOUT, () => {
    fc.assert(
      fc.property(anyMethod, fc.array(mutation, { minLength: 1, maxLength: 4 }), (m, edits) => {
        const payload = mutate(encodePayload(m), edits)
        decodesOrRefuses(m.name, () => decodeMethod(new Reader(payload)))
      }),
      { numRuns: 3000 },
    )
  })

  test('mutated content headers', TIMEOUT, () => {
    fc.assert(
      fc.property(basicProperties, fc.array(mutation, { minLength: 1, maxLength: 4 }), (p, edits) => {
        const w = new Writer(64, true)
        encodeBasicProperties(w, p)
        const bytes = mutate(w.view(), edits)
        decodesOrRefuses('properties', () => decodeBasicProperties(new Reader(bytes)))
      }),
      { numRuns: 1500 },
    )
  })

  test('field tables from random type codes and bytes', TIMEOUT, () => {
    const entry = fc.tuple(
      fc.uint8Array({ maxLength: 4 }), // key
      fc.oneof(fc.constantFrom(...TABLE_TYPES), fc.integer({ min: 0, max: 255 })), // type
      fc.uint8Array({ maxLength: 12 }), // value bytes, often wrong for the type
    )
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 8 }), fc.boolean(), (entries, honestLength) => {
        const body = Buffer.concat(
          entries.map(([key, type, value]) =>
            Buffer.concat([Buffer.from([key.length]), Buffer.from(key), Buffer.from([type]), Buffer.from(value)]),
          ),
        )
        const len = Buffer.alloc(4)
        len.writeUInt32BE(honestLength ? body.length : body.length + 3)
        const bytes = Buffer.concat([len, body])
        decodesOrRefuses('table', () => readTable(new Reader(bytes)))
      }),
      { numRuns: 4000 },
    )
  })

  test('mutated encodings of arbitrary tables', TIMEOUT, () => {
    fc.assert(
      fc.property(fieldTable, fc.array(mutation, { minLength: 1, maxLength: 4 }), (t, edits) => {
        const bytes = mutate(encodeTable(t), edits)
        decodesOrRefuses('table', () => readTable(new Reader(bytes)))
      }),
      { numRuns: 1500 },
    )
  })

  test('deeply nested tables and arrays are refused cleanly (502), however they mix', TIMEOUT, () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('F', 'A'), { minLength: 65, maxLength: 5000 }), (levels) => {
        const bytes = nested(levels)
        assert.throws(
          () => readTable(new Reader(bytes)),
          (err: unknown) => err instanceof AmqpError && err.replyCode === 502,
        )
      }),
      { numRuns: 100 },
    )
    // And 200,000 levels: deeper than any stack, refused all the same
    assert.throws(
      () => readTable(new Reader(nested(Array<'F'>(200_000).fill('F')))),
      (err: unknown) => err instanceof AmqpError && err.replyCode === 502,
    )
  })

  test('AMQPLAIN responses: random bytes give credentials or nothing, never an exception', TIMEOUT, () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 100 }),
          fieldTable.map((t) => encodeTable(t).subarray(4)),
        ),
        (bytes) => {
          parseCredentials('AMQPLAIN', Buffer.from(bytes))
          parseCredentials('PLAIN', Buffer.from(bytes))
        },
      ),
      { numRuns: 500 },
    )
  })
})

/** {"k": level1} where each level is a table {"k": next} ('F') or an array [next] ('A'), down to a void. */
function nested(levels: ('F' | 'A')[]): Buffer {
  // Sizes from the inside out, then bytes from the outside in
  const sizes = new Array<number>(levels.length + 1)
  let inner = 1 // the innermost value: 'V'
  for (let i = levels.length - 1; i >= 0; i--) {
    sizes[i + 1] = inner
    inner = levels[i] === 'F' ? 1 + 4 + 2 + inner : 1 + 4 + inner // F: type, len, key "k", value; A: type, len, value
  }
  const outer = 2 + inner // key "k" + first value
  const buf = Buffer.alloc(4 + outer)
  buf.writeUInt32BE(outer, 0)
  let p = 4
  buf[p++] = 1
  buf[p++] = 0x6b
  for (let i = 0; i < levels.length; i++) {
    const content = sizes[i + 1]!
    if (levels[i] === 'F') {
      buf[p++] = 0x46
      buf.writeUInt32BE(2 + content, p)
      p += 4
      buf[p++] = 1
      buf[p++] = 0x6b
    } else {
      buf[p++] = 0x41
      buf.writeUInt32BE(content, p)
      p += 4
    }
  }
  buf[p++] = 0x56
  assert.equal(p, buf.length)
  return buf
}

describe('fuzz: decode(encode(x)) == x', () => {
  test('arbitrary methods on arbitrary channels, through FrameParser', TIMEOUT, () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(anyMethod, channelId), { minLength: 1, maxLength: 8 }), (list) => {
        const w = new Writer(128)
        for (const [m, ch] of list) encodeMethod(w, ch, m)
        const got: unknown[] = []
        const parser = new FrameParser(
          withPayload((_type, ch, payload) => got.push([decodeMethod(new Reader(payload)), ch])),
          1 << 24,
        )
        for (const c of w.take()) parser.push(c)
        assert.deepStrictEqual(got, list)
      }),
      { numRuns: 300 },
    )
  })

  test('arbitrary properties', TIMEOUT, () => {
    fc.assert(
      fc.property(basicProperties, (p) => {
        const w = new Writer(64, true)
        encodeBasicProperties(w, p)
        assert.deepStrictEqual(decodeBasicProperties(new Reader(Buffer.from(w.view()))), p)
      }),
      { numRuns: 300 },
    )
  })

  test('arbitrary tables', TIMEOUT, () => {
    fc.assert(
      fc.property(fieldTable, (t) => {
        assert.deepStrictEqual(readTable(new Reader(Buffer.from(encodeTable(t)))), t)
      }),
      { numRuns: 300 },
    )
  })
})
