// The record codec, the CRC-32 and positions, checked against zlib and by round trips.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { crc32 as zlibCrc32 } from 'node:zlib'
import fc from 'fast-check'
import { crc32 } from '../../../src/store/crc32.js'
import {
  RECORD_HEADER_SIZE,
  RepeatedBytesDecoder,
  RepeatedStringDecoder,
  checksumOf,
  decodePayload,
  encodeRecord,
  layoutOf,
  offsetOf,
  payloadIsWellFormed,
  slotOf,
  toPosition,
  type StoredMessage,
} from '../../../src/store/record.js'
import { plain } from './store-helpers.js'

test('crc32 matches zlib for every length around the JS/native threshold and any start', () => {
  const data = Buffer.alloc(2000)
  for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 17) & 0xff
  for (let length = 0; length < 700; length++) {
    for (const start of [0, 1, 3, 7]) {
      assert.equal(crc32(data, start, start + length), zlibCrc32(data.subarray(start, start + length)), `${length}`)
    }
  }
})

test('crc32 continues from an initial value like zlib does (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1000 }), fc.uint8Array({ maxLength: 1000 }), (a, b) => {
      const whole = zlibCrc32(Buffer.concat([a, b]))
      assert.equal(crc32(b, 0, b.length, crc32(a, 0, a.length)), whole)
    }),
  )
})

const storedMessage = fc.record({
  exchange: fc.string({ maxLength: 60 }),
  routingKey: fc.string({ unit: 'binary', maxLength: 60 }),
  propertiesRaw: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
  body: fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a)),
})

function encode(message: StoredMessage, includeBody = true): Buffer {
  const layout = layoutOf(message)
  const target = Buffer.alloc(layout.totalBytes + 5, 0xaa)
  const end = encodeRecord(message, message.expiresAt ?? 0, layout, target, 5, includeBody)
  assert.equal(end, 5 + layout.totalBytes - (includeBody ? 0 : message.body.length))
  if (!includeBody) message.body.copy(target, end)
  return target.subarray(5)
}

test('a record decodes to the message it encodes, with a valid checksum (property)', () => {
  fc.assert(
    fc.property(storedMessage, fc.boolean(), (message, includeBody) => {
      const record = encode(message, includeBody)
      const length = record.readUInt32BE(0)
      assert.equal(length, record.length - RECORD_HEADER_SIZE)
      assert.equal(checksumOf(record, RECORD_HEADER_SIZE, length), record.readUInt32BE(4))
      assert.ok(payloadIsWellFormed(record, RECORD_HEADER_SIZE, length))
      const decoded = decodePayload(record, RECORD_HEADER_SIZE, length)
      assert.ok(decoded)
      assert.deepEqual(plain(decoded), plain(message))
    }),
  )
})

test('a record written from the wire forms of exchange and routing key is the same bytes (property)', () => {
  const wire = (text: string) => {
    const bytes = Buffer.from(text, 'utf8')
    return Buffer.concat([Buffer.from([bytes.length]), bytes])
  }
  fc.assert(
    fc.property(storedMessage, fc.boolean(), fc.double({ min: 0, max: 2e13, noNaN: true }), (message, body, at) => {
      const fromStrings = encode({ ...message, expiresAt: at }, body)
      const source = { ...message, exchangeWire: wire(message.exchange), routingKeyWire: wire(message.routingKey) }
      const layout = layoutOf(source)
      const target = Buffer.alloc(layout.totalBytes, 0xaa)
      encodeRecord(source, at, layout, target, 0, body)
      if (!body) message.body.copy(target, layout.totalBytes - message.body.length)
      assert.deepEqual(target, fromStrings)
    }),
  )
})

test('a payload whose inner lengths do not add up is refused (property)', () => {
  fc.assert(
    fc.property(storedMessage, fc.integer({ min: 1, max: 50 }), (message, shorter) => {
      const record = encode(message)
      const length = record.readUInt32BE(0)
      // Claim a shorter payload: the body length now points past it
      const claimed = length - Math.min(shorter, length - 1)
      assert.equal(decodePayload(record, RECORD_HEADER_SIZE, claimed), null)
      assert.equal(payloadIsWellFormed(record, RECORD_HEADER_SIZE, claimed), false)
    }),
  )
})

test('positions pack a segment id and an offset into one exact number', () => {
  for (const [segment, offset] of [
    [1, 0],
    [1, 0xffff_ffff],
    [123_456, 42],
    [2 ** 21 - 1, 0xffff_fffe],
  ] as const) {
    const position = toPosition(segment, offset)
    assert.ok(Number.isSafeInteger(position))
    assert.equal(slotOf(position), segment)
    assert.equal(offsetOf(position), offset)
  }
  assert.ok(toPosition(1, 0xffff_ffff) < toPosition(2, 0), 'positions sort like (segment, offset)')
  // Ids past 2^21 wrap to their slot, so positions stay exact
  const wrapped = toPosition(2 ** 21 * 3 + 5, 0xffff_ffff)
  assert.ok(Number.isSafeInteger(wrapped))
  assert.equal(slotOf(wrapped), 5)
  assert.equal(offsetOf(wrapped), 0xffff_ffff)
})

test('repeated-value decoders return the same value only for the same bytes', () => {
  const strings = new RepeatedStringDecoder()
  const source = Buffer.from('abcabdabcé')
  const first = strings.decode(source, 0, 3)
  assert.equal(first, 'abc')
  assert.equal(strings.decode(source, 3, 6), 'abd')
  assert.equal(strings.decode(source, 6, 9), 'abc')
  assert.equal(strings.decode(source, 6, 11), 'abcé')
  assert.equal(strings.decode(source, 0, 0), '')
  const bytes = new RepeatedBytesDecoder()
  const a = bytes.decode(source, 0, 3)
  assert.equal(bytes.decode(source, 6, 9), a, 'identical bytes share one Buffer')
  assert.deepEqual([...bytes.decode(source, 3, 6)], [...Buffer.from('abd')])
})
