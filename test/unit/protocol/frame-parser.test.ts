// FrameParser: however a byte stream is cut into chunks, the same frames come out; whole frames inside a
// chunk are passed as slices of it (zero copy); an oversized frame or a bad frame-end octet is 501
// FRAME_ERROR, and a hostile size never makes the parser allocate.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { ConnectionError } from '../../../src/protocol/errors.js'
import { FrameParser, withPayload } from '../../../src/protocol/frame-parser.js'
import { FRAME_END } from '../../../src/protocol/writer.js'

interface Frame {
  type: number
  channel: number
  payload: Buffer
}

/** The bytes of one frame. */
function frameBytes(f: Frame, end = FRAME_END): Buffer {
  const b = Buffer.alloc(8 + f.payload.length)
  b[0] = f.type
  b.writeUInt16BE(f.channel, 1)
  b.writeUInt32BE(f.payload.length, 3)
  f.payload.copy(b, 7)
  b[7 + f.payload.length] = end
  return b
}

/** Feeds chunks to a fresh parser; returns the frames with their payloads copied. */
function parseChunks(chunks: Buffer[], frameMax = 131072): Frame[] {
  const out: Frame[] = []
  const parser = new FrameParser(
    withPayload((type, channel, payload) => out.push({ type, channel, payload: Buffer.from(payload) })),
    frameMax,
  )
  for (const c of chunks) parser.push(c)
  return out
}

/** Cuts a buffer at the given offsets (sorted, deduplicated, within bounds). */
function cut(bytes: Buffer, points: number[]): Buffer[] {
  const offsets = [...new Set(points.filter((p) => p > 0 && p < bytes.length))].sort((a, b) => a - b)
  const chunks: Buffer[] = []
  let prev = 0
  for (const p of offsets) {
    chunks.push(bytes.subarray(prev, p))
    prev = p
  }
  chunks.push(bytes.subarray(prev))
  return chunks
}

const frameArb: fc.Arbitrary<Frame> = fc.record(
  {
    type: fc.constantFrom(1, 2, 3, 8, 0, 255),
    channel: fc.integer({ min: 0, max: 0xffff }),
    payload: fc
      .oneof(
        { weight: 4, arbitrary: fc.uint8Array({ maxLength: 40 }) },
        { weight: 1, arbitrary: fc.uint8Array({ minLength: 100, maxLength: 2000 }) },
      )
      .map((a) => Buffer.from(a)),
  },
  { noNullPrototype: true },
)

const isFrameError = (err: unknown): boolean => err instanceof ConnectionError && err.replyCode === 501

describe('FrameParser', () => {
  test('a stream split at every single byte boundary yields the same frames', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 6 }), (frames) => {
        const bytes = Buffer.concat(frames.map((f) => frameBytes(f)))
        for (let at = 0; at <= bytes.length; at++) {
          assert.deepStrictEqual(parseChunks([bytes.subarray(0, at), bytes.subarray(at)]), frames, `split at ${at}`)
        }
      }),
      { numRuns: 60 },
    )
  })

  test('a stream fed one byte at a time yields the same frames', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 5 }), (frames) => {
        const bytes = Buffer.concat(frames.map((f) => frameBytes(f)))
        const chunks = [...bytes].map((b) => Buffer.from([b]))
        assert.deepStrictEqual(parseChunks(chunks), frames)
      }),
      { numRuns: 60 },
    )
  })

  test('arbitrary chunkings (including empty chunks) yield the same frames', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { minLength: 1, maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 60 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        (frames, points, empties) => {
          const bytes = Buffer.concat(frames.map((f) => frameBytes(f)))
          const chunks = cut(
            bytes,
            points.map((p) => p % (bytes.length + 1)),
          )
          for (const e of empties) chunks.splice(e % (chunks.length + 1), 0, Buffer.alloc(0))
          assert.deepStrictEqual(parseChunks(chunks), frames)
        },
      ),
      { numRuns: 300 },
    )
  })

  test('many frames in one chunk come out in order, as slices of the chunk (zero copy)', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 50 }), (frames) => {
        const chunk = Buffer.concat(frames.map((f) => frameBytes(f)))
        const seen: Frame[] = []
        const parser = new FrameParser(
          withPayload((type, channel, payload) => {
            assert.equal(payload.buffer, chunk.buffer, 'payload is a view of the chunk')
            seen.push({ type, channel, payload: Buffer.from(payload) })
          }),
          131072,
        )
        parser.push(chunk)
        assert.deepStrictEqual(seen, frames)
      }),
      { numRuns: 100 },
    )
  })

  test('a frame that straddles chunks is assembled whole, and the frames after it still arrive', () => {
    const a = { type: 1, channel: 1, payload: Buffer.from('first') }
    const b = { type: 3, channel: 2, payload: Buffer.alloc(5000, 7) }
    const c = { type: 8, channel: 0, payload: Buffer.alloc(0) }
    const bytes = Buffer.concat([frameBytes(a), frameBytes(b), frameBytes(c)])
    assert.deepStrictEqual(parseChunks([bytes.subarray(0, 20), bytes.subarray(20, 3000), bytes.subarray(3000)]), [
      a,
      b,
      c,
    ])
  })

  test('an empty payload at the very end of a chunk is complete', () => {
    const hb = frameBytes({ type: 8, channel: 0, payload: Buffer.alloc(0) })
    assert.deepStrictEqual(parseChunks([hb]), [{ type: 8, channel: 0, payload: Buffer.alloc(0) }])
    assert.deepStrictEqual(parseChunks([hb.subarray(0, 7), hb.subarray(7)]), [
      { type: 8, channel: 0, payload: Buffer.alloc(0) },
    ])
  })

  test('nothing comes out until the frame-end octet has arrived', () => {
    const bytes = frameBytes({ type: 1, channel: 0, payload: Buffer.from('abc') })
    const out: Frame[] = []
    const parser = new FrameParser(
      withPayload((type, channel, payload) => out.push({ type, channel, payload })),
      4096,
    )
    parser.push(bytes.subarray(0, bytes.length - 1))
    assert.equal(out.length, 0)
    parser.push(bytes.subarray(bytes.length - 1))
    assert.equal(out.length, 1)
  })

  describe('frame size', () => {
    test('a payload of frame_max - 8 is accepted, one byte more is 501', () => {
      for (const frameMax of [4096, 131072]) {
        const max = { type: 3, channel: 1, payload: Buffer.alloc(frameMax - 8, 1) }
        assert.deepStrictEqual(parseChunks([frameBytes(max)], frameMax), [max])
        const over = frameBytes({ type: 3, channel: 1, payload: Buffer.alloc(frameMax - 7) })
        assert.throws(() => parseChunks([over], frameMax), isFrameError, 'in one chunk')
        assert.throws(() => parseChunks([over.subarray(0, 7)], frameMax), isFrameError, 'header alone')
        assert.throws(() => parseChunks([over.subarray(0, 3), over.subarray(3, 9)], frameMax), isFrameError, 'split')
      }
    })

    test('a hostile size is refused before anything is allocated for it', (t) => {
      const sizes = [0xffff_ffff, 0x7fff_ffff, 1 << 30, 131072 - 7]
      for (const size of sizes) {
        const header = Buffer.alloc(7)
        header[0] = 3
        header.writeUInt16BE(1, 1)
        header.writeUInt32BE(size, 3)
        // Every way the header can arrive: whole, with a byte of payload, cut at each byte
        const ways: Buffer[][] = [[header], [Buffer.concat([header, Buffer.from([0])])]]
        for (let at = 1; at < 7; at++) ways.push([header.subarray(0, at), header.subarray(at)])
        for (const chunks of ways) {
          const allocUnsafe = t.mock.method(Buffer, 'allocUnsafe')
          const alloc = t.mock.method(Buffer, 'alloc')
          const allocUnsafeSlow = t.mock.method(Buffer, 'allocUnsafeSlow')
          try {
            assert.throws(() => parseChunks(chunks), isFrameError, `size ${size}`)
            for (const m of [allocUnsafe, alloc, allocUnsafeSlow]) {
              for (const call of m.mock.calls) {
                const n = call.arguments[0] as number
                assert.ok(n <= 131072, `allocated ${n} bytes for a frame of size ${size}`)
              }
            }
          } finally {
            allocUnsafe.mock.restore()
            alloc.mock.restore()
            allocUnsafeSlow.mock.restore()
          }
        }
      }
    })

    test('maxPayload can be changed between frames (after tune-ok)', () => {
      const out: Frame[] = []
      const parser = new FrameParser(
        withPayload((type, channel, payload) => out.push({ type, channel, payload })),
        131072,
      )
      const big = frameBytes({ type: 3, channel: 1, payload: Buffer.alloc(5000) })
      parser.push(big)
      parser.maxPayload = 4096 - 8
      assert.throws(() => parser.push(big), isFrameError)
      assert.equal(out.length, 1)
    })
  })

  describe('frame end', () => {
    test('any octet other than 0xCE is 501, in one chunk or straddling', () => {
      fc.assert(
        fc.property(
          frameArb,
          fc.integer({ min: 0, max: 255 }).filter((b) => b !== FRAME_END),
          fc.nat(),
          (f, end, splitAt) => {
            const bytes = frameBytes(f, end)
            assert.throws(() => parseChunks([bytes]), isFrameError)
            const at = splitAt % (bytes.length + 1)
            assert.throws(() => parseChunks([bytes.subarray(0, at), bytes.subarray(at)]), isFrameError)
          },
        ),
        { numRuns: 200 },
      )
    })

    test('frames before the bad one are delivered first', () => {
      const good = frameBytes({ type: 1, channel: 0, payload: Buffer.from('ok') })
      const bad = frameBytes({ type: 1, channel: 0, payload: Buffer.from('no') }, 0)
      const out: Frame[] = []
      const parser = new FrameParser(
        withPayload((type, channel, payload) => out.push({ type, channel, payload })),
        4096,
      )
      assert.throws(() => parser.push(Buffer.concat([good, bad])), isFrameError)
      assert.equal(out.length, 1)
      assert.equal(out[0]!.payload.toString(), 'ok')
    })
  })
})
