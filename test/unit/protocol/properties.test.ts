// Basic content properties: all 14 round trip, each sets exactly its own flag bit, and a flag word with
// the continuation bit is skipped as the specification describes.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { ConnectionError } from '../../../src/protocol/errors.js'
import {
  decodeBasicProperties,
  encodeBasicProperties,
  type BasicProperties,
} from '../../../src/protocol/generated/properties.js'
import { Reader } from '../../../src/protocol/reader.js'
import { Writer } from '../../../src/protocol/writer.js'
import { SPEC, basicProperties, camel } from './arbitraries.js'

function encode(p: BasicProperties): Buffer {
  const w = new Writer(32, true)
  encodeBasicProperties(w, p)
  return Buffer.from(w.view())
}

/** The 14 properties in flag order, with a sample value each and the flag bit the spec gives them. */
const SAMPLES: [keyof BasicProperties, BasicProperties[keyof BasicProperties], number][] = [
  ['contentType', 'application/json', 0x8000],
  ['contentEncoding', 'gzip', 0x4000],
  ['headers', Object.assign(Object.create(null) as Record<string, number>, { a: 1 }), 0x2000],
  ['deliveryMode', 2, 0x1000],
  ['priority', 5, 0x0800],
  ['correlationId', 'corr', 0x0400],
  ['replyTo', 'amq.rabbitmq.reply-to', 0x0200],
  ['expiration', '60000', 0x0100],
  ['messageId', 'id-1', 0x0080],
  ['timestamp', 1_700_000_000, 0x0040],
  ['type', 'order.created', 0x0020],
  ['userId', 'guest', 0x0010],
  ['appId', 'warren-test', 0x0008],
  ['clusterId', 'c1', 0x0004],
]

describe('basic properties', () => {
  test('the 14 properties of the description, in its order', () => {
    const basic = SPEC.classes.find((c) => c.name === 'basic')!
    assert.deepStrictEqual(
      basic.properties!.map(([name]) => camel(name)),
      SAMPLES.map(([key]) => key),
    )
  })

  test('arbitrary properties round trip, each present or absent', () => {
    fc.assert(
      fc.property(basicProperties, (p) => {
        const bytes = encode(p)
        const r = new Reader(bytes)
        assert.deepStrictEqual(decodeBasicProperties(r), p)
        assert.equal(r.pos, bytes.length, 'the decoder reads every property written')
      }),
      { numRuns: 500 },
    )
  })

  test('each property alone sets exactly its own flag bit', () => {
    for (const [key, value, bit] of SAMPLES) {
      const bytes = encode({ [key]: value })
      assert.equal(bytes.readUInt16BE(0), bit, key)
      assert.deepStrictEqual(decodeBasicProperties(new Reader(bytes)), { [key]: value }, key)
    }
  })

  test('the flags of any set of properties are the OR of their bits', () => {
    fc.assert(
      fc.property(fc.subarray(SAMPLES), (chosen) => {
        const p: Record<string, unknown> = {}
        let flags = 0
        for (const [key, value, bit] of chosen) {
          p[key] = value
          flags |= bit
        }
        const bytes = encode(p as BasicProperties)
        assert.equal(bytes.readUInt16BE(0), flags)
        assert.deepStrictEqual(decodeBasicProperties(new Reader(bytes)), p)
      }),
    )
  })

  test('no properties: a zero flag word and nothing else', () => {
    assert.equal(encode({}).toString('hex'), '0000')
    assert.deepStrictEqual(decodeBasicProperties(new Reader(Buffer.from('0000', 'hex'))), {})
  })

  test('a flag word with the continuation bit is followed by another one, which is skipped', () => {
    // content-type + continuation, then a second flag word with bits no basic property uses
    const bytes = Buffer.from('8001' + '8000' + '01' + '61', 'hex')
    const r = new Reader(bytes)
    assert.deepStrictEqual(decodeBasicProperties(r), { contentType: 'a' })
    assert.equal(r.pos, bytes.length)
  })

  test('flags promising properties that are not there are 501', () => {
    for (const hex of ['8000', '2000', '1000', '0040' + '0000', 'ffff', '0001']) {
      assert.throws(
        () => decodeBasicProperties(new Reader(Buffer.from(hex, 'hex'))),
        (err: unknown) => err instanceof ConnectionError && err.replyCode === 501,
        hex,
      )
    }
  })

  test('properties survive the pooled writer growing while they are written', () => {
    fc.assert(
      fc.property(fc.array(basicProperties, { minLength: 1, maxLength: 10 }), (list) => {
        const w = new Writer(8, true)
        for (const p of list) encodeBasicProperties(w, p)
        const r = new Reader(Buffer.from(w.view()))
        for (const p of list) assert.deepStrictEqual(decodeBasicProperties(r), p)
        assert.equal(r.pos, w.view().length)
      }),
      { numRuns: 50 },
    )
  })
})
