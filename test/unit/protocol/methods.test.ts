// Method codec: the generated METHODS table against the protocol description, and a round trip of every
// method (encode with Writer, split the bytes back into frames with FrameParser, decode) with arbitrary
// values for every field.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { ConnectionError } from '../../../src/protocol/errors.js'
import { FrameParser, withPayload } from '../../../src/protocol/frame-parser.js'
import {
  METHODS,
  decodeMethod,
  encodeMethod,
  type Method,
  type MethodName,
} from '../../../src/protocol/generated/methods.js'
import { Reader } from '../../../src/protocol/reader.js'
import { FRAME_END, FRAME_METHOD, Writer } from '../../../src/protocol/writer.js'
import { METHOD_SPECS, channelId, methodOf } from './arbitraries.js'

interface Frame {
  type: number
  channel: number
  payload: Buffer
}

/** Encodes one method frame and splits the writer's output back into frames. */
function encodeToFrames(channel: number, m: Method, writer = new Writer()): Frame[] {
  encodeMethod(writer, channel, m)
  const frames: Frame[] = []
  const parser = new FrameParser(
    withPayload((type, ch, payload) => frames.push({ type, channel: ch, payload })),
    1 << 24,
  )
  for (const chunk of writer.take()) parser.push(chunk)
  return frames
}

function roundTrip(channel: number, m: Method): void {
  const frames = encodeToFrames(channel, m)
  assert.equal(frames.length, 1, 'one method, one frame')
  const f = frames[0]!
  assert.equal(f.type, FRAME_METHOD)
  assert.equal(f.channel, channel)
  const info = METHODS[m.name]
  assert.equal(f.payload.readUInt16BE(0), info.classId, 'class id')
  assert.equal(f.payload.readUInt16BE(2), info.methodId, 'method id')
  const r = new Reader(f.payload)
  assert.deepStrictEqual(decodeMethod(r), m)
  assert.equal(r.pos, f.payload.length, 'the decoder reads the whole payload, no more, no less')
}

describe('METHODS', () => {
  test('has exactly the methods of the protocol description', () => {
    assert.deepStrictEqual(Object.keys(METHODS).sort(), METHOD_SPECS.map((m) => m.name).sort())
  })

  test('ids, responses and content flags match the description', () => {
    for (const spec of METHOD_SPECS) {
      const info = METHODS[spec.name]
      assert.deepStrictEqual(
        info,
        { classId: spec.classId, methodId: spec.methodId, response: spec.response, content: spec.content },
        spec.name,
      )
    }
  })

  test('ids are those RabbitMQ uses, including its errata', () => {
    const expected: [MethodName, number, number][] = [
      ['connection.start', 10, 10],
      ['connection.blocked', 10, 60],
      ['connection.update-secret', 10, 70],
      ['channel.close', 20, 40],
      ['access.request', 30, 10],
      ['exchange.bind', 40, 30],
      ['exchange.unbind', 40, 40],
      ['exchange.unbind-ok', 40, 51], // not 41: RabbitMQ's (and every client's) id
      ['queue.unbind', 50, 50],
      ['basic.publish', 60, 40],
      ['basic.recover-async', 60, 100],
      ['basic.recover', 60, 110],
      ['basic.nack', 60, 120],
      ['confirm.select', 85, 10],
      ['tx.rollback-ok', 90, 31],
    ]
    for (const [name, classId, methodId] of expected) {
      assert.equal(METHODS[name].classId, classId, name)
      assert.equal(METHODS[name].methodId, methodId, name)
    }
    const withContent = Object.entries(METHODS)
      .filter(([, info]) => info.content)
      .map(([name]) => name)
      .sort()
    assert.deepStrictEqual(withContent, ['basic.deliver', 'basic.get-ok', 'basic.publish', 'basic.return'])
  })

  test('(class, method) pairs are unique', () => {
    const seen = new Set<number>()
    for (const info of Object.values(METHODS)) {
      const key = (info.classId << 16) | info.methodId
      assert.ok(!seen.has(key), `duplicate id ${info.classId}/${info.methodId}`)
      seen.add(key)
    }
  })
})

describe('method codec round trip', () => {
  for (const spec of METHOD_SPECS) {
    test(`${spec.name} (${spec.fields.map((f) => `${f.key}:${f.type}`).join(', ') || 'no fields'})`, () => {
      fc.assert(
        fc.property(methodOf(spec.name), channelId, (m, channel) => roundTrip(channel, m)),
        { numRuns: spec.fields.length === 0 ? 5 : 60 },
      )
    })
  }

  test('many methods written into one pooled writer come back in order', () => {
    const arb = fc.array(fc.tuple(fc.constantFrom(...METHOD_SPECS.map((m) => m.name)).chain(methodOf), channelId), {
      minLength: 1,
      maxLength: 40,
    })
    fc.assert(
      fc.property(arb, (methods) => {
        const w = new Writer(512)
        for (const [m, ch] of methods) encodeMethod(w, ch, m)
        const frames: Frame[] = []
        const parser = new FrameParser(
          withPayload((type, channel, payload) => frames.push({ type, channel, payload })),
          1 << 24,
        )
        for (const chunk of w.take()) parser.push(chunk)
        assert.equal(frames.length, methods.length)
        frames.forEach((f, i) => {
          assert.equal(f.channel, methods[i]![1])
          assert.deepStrictEqual(decodeMethod(new Reader(f.payload)), methods[i]![0])
        })
      }),
      { numRuns: 40 },
    )
  })

  test('optional reserved fields are written as their defaults when absent', () => {
    const cases: [Method, Method][] = [
      [
        { name: 'connection.open', virtualHost: '/' },
        { name: 'connection.open', virtualHost: '/', capabilities: '', insist: false },
      ],
      [{ name: 'connection.open-ok' }, { name: 'connection.open-ok', knownHosts: '' }],
      [{ name: 'channel.open' }, { name: 'channel.open', outOfBand: '' }],
      [{ name: 'channel.open-ok' }, { name: 'channel.open-ok', channelId: Buffer.alloc(0) }],
      [{ name: 'basic.get-empty' }, { name: 'basic.get-empty', clusterId: '' }],
      [{ name: 'access.request-ok' }, { name: 'access.request-ok', ticket: 0 }],
      [
        { name: 'basic.publish', exchange: 'x', routingKey: 'k', mandatory: true, immediate: false },
        { name: 'basic.publish', ticket: 0, exchange: 'x', routingKey: 'k', mandatory: true, immediate: false },
      ],
    ]
    for (const [given, decoded] of cases) {
      const [f] = encodeToFrames(1, given)
      assert.deepStrictEqual(decodeMethod(new Reader(f!.payload)), decoded)
    }
  })

  test('a longstr given as a string is written as its UTF-8 bytes', () => {
    const [f] = encodeToFrames(0, {
      name: 'connection.start',
      versionMajor: 0,
      versionMinor: 9,
      serverProperties: {},
      mechanisms: 'PLAIN AMQPLAIN',
      locales: 'en_US — ü',
    })
    const m = decodeMethod(new Reader(f!.payload))
    assert.equal(m.name, 'connection.start')
    if (m.name !== 'connection.start') return
    assert.deepStrictEqual(m.mechanisms, Buffer.from('PLAIN AMQPLAIN'))
    assert.deepStrictEqual(m.locales, Buffer.from('en_US — ü', 'utf8'))
  })

  test('consecutive bits share one octet, in field order from the low bit', () => {
    const [f] = encodeToFrames(1, {
      name: 'queue.declare',
      queue: 'q',
      passive: true,
      durable: false,
      exclusive: true,
      autoDelete: false,
      noWait: true,
      arguments: {},
    })
    // class, method, ticket, shortstr 'q', bits, empty table
    assert.equal(f!.payload.toString('hex'), '0032000a' + '0000' + '0171' + '15' + '00000000')
  })

  test('a shortstr over 255 bytes is refused when encoding', () => {
    assert.throws(
      () => encodeMethod(new Writer(), 1, { name: 'basic.cancel-ok', consumerTag: 'é'.repeat(128) }),
      RangeError,
    )
  })
})

describe('method decoding of bad payloads', () => {
  test('an unknown class or method is 540 NOT_IMPLEMENTED', () => {
    for (const [classId, methodId] of [
      [60, 99],
      [99, 10],
      [0, 0],
      [10, 12],
      [0xffff, 0xffff],
    ] as const) {
      const p = Buffer.alloc(4)
      p.writeUInt16BE(classId, 0)
      p.writeUInt16BE(methodId, 2)
      assert.throws(
        () => decodeMethod(new Reader(p)),
        (err: unknown) => err instanceof ConnectionError && err.replyCode === 540,
        `${classId}/${methodId}`,
      )
    }
  })

  test('every truncation of every method is 501 FRAME_ERROR, never another exception', () => {
    for (const spec of METHOD_SPECS) {
      fc.assert(
        fc.property(methodOf(spec.name), (m) => {
          const [f] = encodeToFrames(1, m)
          const payload = f!.payload
          for (let len = 0; len < payload.length; len++) {
            // A copy of exactly `len` bytes, so reading past it cannot see the rest of the frame
            const cut = Buffer.from(payload.subarray(0, len))
            assert.throws(
              () => decodeMethod(new Reader(cut)),
              (err: unknown) => err instanceof ConnectionError && err.replyCode === 501,
              `${spec.name} cut at ${len} of ${payload.length} bytes`,
            )
          }
        }),
        { numRuns: 3 },
      )
    }
  })

  test('the frame end octet value is what the spec says', () => {
    assert.equal(FRAME_END, 0xce)
  })
})
