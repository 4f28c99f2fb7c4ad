// Known byte vectors, written by hand from the AMQP 0-9-1 specification (section 4.2 frame format, 4.2.6
// content framing, and the method and property definitions): the decoder must read them and the
// encoder must produce exactly these bytes.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { encodeTable, readTable } from '../../../src/protocol/field-table.js'
import { TypedValue } from '../../../src/protocol/field-value.js'
import { FrameParser, withPayload } from '../../../src/protocol/frame-parser.js'
import { decodeMethod, encodeMethod, type Method } from '../../../src/protocol/generated/methods.js'
import {
  decodeBasicProperties,
  encodeBasicProperties,
  type BasicProperties,
} from '../../../src/protocol/generated/properties.js'
import { Reader } from '../../../src/protocol/reader.js'
import { FRAME_BODY, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD, Writer } from '../../../src/protocol/writer.js'

/** Hex with spaces and comments allowed: "01 0001 # channel 1" */
function hex(s: string): Buffer {
  return Buffer.from(
    s
      .split('\n')
      .map((line) => line.replace(/#.*/, ''))
      .join('')
      .replace(/\s+/g, ''),
    'hex',
  )
}

interface Frame {
  type: number
  channel: number
  payload: Buffer
}

function parse(bytes: Buffer): Frame[] {
  const frames: Frame[] = []
  new FrameParser(
    withPayload((type, channel, payload) => frames.push({ type, channel, payload })),
    131072,
  ).push(bytes)
  return frames
}

function encoded(write: (w: Writer) => void): Buffer {
  const w = new Writer()
  write(w)
  return Buffer.concat(w.take())
}

describe('known frames', () => {
  test('heartbeat: type 8, channel 0, size 0, frame-end', () => {
    const bytes = hex('08 0000 00000000 ce')
    assert.deepStrictEqual(parse(bytes), [{ type: FRAME_HEARTBEAT, channel: 0, payload: Buffer.alloc(0) }])
    assert.deepStrictEqual(
      encoded((w) => w.heartbeat()),
      bytes,
    )
  })

  const methods: [string, string, number, Method][] = [
    [
      'channel.open on channel 1',
      `01 0001 00000005
       0014 000a   # class 20 channel, method 10 open
       00          # reserved-1: empty shortstr
       ce`,
      1,
      { name: 'channel.open', outOfBand: '' },
    ],
    [
      'channel.open-ok',
      `01 0001 00000008
       0014 000b
       00000000    # reserved-1: empty longstr
       ce`,
      1,
      { name: 'channel.open-ok', channelId: Buffer.alloc(0) },
    ],
    [
      'connection.tune (channel-max 2047, frame-max 131072, heartbeat 60)',
      `01 0000 0000000c
       000a 001e
       07ff 00020000 003c
       ce`,
      0,
      { name: 'connection.tune', channelMax: 2047, frameMax: 131072, heartbeat: 60 },
    ],
    [
      'connection.open vhost "/"',
      `01 0000 00000008
       000a 0028
       01 2f       # virtual-host "/"
       00          # reserved-1 (capabilities)
       00          # reserved-2 (insist) bit
       ce`,
      0,
      { name: 'connection.open', virtualHost: '/', capabilities: '', insist: false },
    ],
    [
      'connection.close 320 with the offending method',
      `01 0000 00000015
       000a 0032
       0140        # reply-code 320
       0a 434f4e4e454354494f4e  # "CONNECTION"
       0014 0028   # class-id 20, method-id 40
       ce`,
      0,
      { name: 'connection.close', replyCode: 320, replyText: 'CONNECTION', classId: 20, methodId: 40 },
    ],
    [
      'basic.publish to "" with routing key "hello", mandatory',
      `01 0001 0000000e
       003c 0028
       0000        # reserved-1 (ticket)
       00          # exchange ""
       05 68656c6c6f  # routing-key "hello"
       01          # mandatory=1, immediate=0
       ce`,
      1,
      { name: 'basic.publish', ticket: 0, exchange: '', routingKey: 'hello', mandatory: true, immediate: false },
    ],
    [
      'basic.deliver',
      `01 0002 0000001f
       003c 003c
       04 63746167           # consumer-tag "ctag"
       0000000100000002      # delivery-tag 2^32 + 2
       01                    # redelivered
       09 616d712e746f706963 # exchange "amq.topic"
       02 612e               # routing-key "a."
       ce`,
      2,
      {
        name: 'basic.deliver',
        consumerTag: 'ctag',
        deliveryTag: 0x1_0000_0002,
        redelivered: true,
        exchange: 'amq.topic',
        routingKey: 'a.',
      },
    ],
    [
      'basic.nack multiple, requeue',
      `01 0001 0000000d
       003c 0078
       000000000000002a      # delivery-tag 42
       03                    # multiple | requeue
       ce`,
      1,
      { name: 'basic.nack', deliveryTag: 42, multiple: true, requeue: true },
    ],
    [
      'queue.declare with an x-message-ttl argument',
      `01 0001 00000020
       0032 000a
       0000
       01 71                 # queue "q"
       02                    # durable
       00000013              # arguments: 19 bytes
       0d 782d6d6573736167652d74746c  # "x-message-ttl"
       49 0000ea60           # I 60000
       ce`,
      1,
      {
        name: 'queue.declare',
        ticket: 0,
        queue: 'q',
        passive: false,
        durable: true,
        exclusive: false,
        autoDelete: false,
        noWait: false,
        arguments: Object.assign(Object.create(null) as Record<string, number>, { 'x-message-ttl': 60000 }),
      },
    ],
    [
      'exchange.unbind-ok (method 51)',
      `01 0001 00000004
       0028 0033
       ce`,
      1,
      { name: 'exchange.unbind-ok' },
    ],
    [
      'confirm.select nowait',
      `01 0001 00000005
       0055 000a 01
       ce`,
      1,
      { name: 'confirm.select', noWait: true },
    ],
  ]

  for (const [what, bytesHex, channel, method] of methods) {
    test(what, () => {
      const bytes = hex(bytesHex)
      const frames = parse(bytes)
      assert.equal(frames.length, 1)
      const f = frames[0]!
      assert.equal(f.type, FRAME_METHOD)
      assert.equal(f.channel, channel)
      assert.deepStrictEqual(decodeMethod(new Reader(f.payload)), method)
      assert.equal(
        encoded((w) => encodeMethod(w, channel, method)).toString('hex'),
        bytes.toString('hex'),
        'the encoder writes the same bytes',
      )
    })
  }

  test('basic.publish + content header + body, in one chunk', () => {
    const bytes = hex(`
      01 0001 0000000e 003c 0028 0000 00 05 68656c6c6f 00 ce      # basic.publish "" "hello"
      02 0001 0000001a                                           # content header, 26 bytes
         003c 0000                                               # class 60, weight 0
         0000000000000005                                        # body size 5
         9000                                                    # content-type | delivery-mode
         0a 746578742f706c61696e                                 # "text/plain"
         02                                                      # persistent
      ce
      03 0001 00000005 68656c6c6f ce                             # body "hello"
    `)
    const frames = parse(bytes)
    assert.deepStrictEqual(
      frames.map((f) => [f.type, f.channel, f.payload.length]),
      [
        [FRAME_METHOD, 1, 14],
        [FRAME_HEADER, 1, 26],
        [FRAME_BODY, 1, 5],
      ],
    )
    assert.deepStrictEqual(decodeMethod(new Reader(frames[0]!.payload)), {
      name: 'basic.publish',
      ticket: 0,
      exchange: '',
      routingKey: 'hello',
      mandatory: false,
      immediate: false,
    })
    const r = new Reader(frames[1]!.payload)
    assert.equal(r.u16(), 60)
    assert.equal(r.u16(), 0)
    assert.equal(r.u64(), 5)
    assert.deepStrictEqual(decodeBasicProperties(r), { contentType: 'text/plain', deliveryMode: 2 })
    assert.equal(r.pos, frames[1]!.payload.length)
    assert.equal(frames[2]!.payload.toString(), 'hello')

    // And the writer produces the same three frames
    const props = new Writer(64, true)
    encodeBasicProperties(props, { contentType: 'text/plain', deliveryMode: 2 })
    const out = encoded((w) => {
      encodeMethod(w, 1, {
        name: 'basic.publish',
        exchange: '',
        routingKey: 'hello',
        mandatory: false,
        immediate: false,
      })
      w.contentHeader(1, 60, 5, Buffer.from(props.view()))
      w.body(1, Buffer.from('hello'), 131072 - 8)
    })
    assert.equal(out.toString('hex'), bytes.toString('hex'))
  })

  test('a content header with all 14 properties, in flag order', () => {
    const props: BasicProperties = {
      contentType: 'a',
      contentEncoding: 'b',
      headers: Object.assign(Object.create(null) as Record<string, string>, { h: 'v' }),
      deliveryMode: 2,
      priority: 9,
      correlationId: 'c',
      replyTo: 'r',
      expiration: '60',
      messageId: 'm',
      timestamp: 1700000000,
      type: 't',
      userId: 'u',
      appId: 'p',
      clusterId: 'k',
    }
    const bytes = hex(`
      fffc                    # all 14 flags: bits 15..2
      01 61  01 62            # content-type, content-encoding
      00000008 01 68 53 00000001 76   # headers {h: S "v"}
      02 09                   # delivery-mode, priority
      01 63  01 72  02 3630  01 6d    # correlation-id, reply-to, expiration, message-id
      000000006553f100        # timestamp 1700000000
      01 74  01 75  01 70  01 6b      # type, user-id, app-id, cluster-id
    `)
    const w = new Writer(16, true)
    encodeBasicProperties(w, props)
    assert.equal(w.view().toString('hex'), bytes.toString('hex'))
    const r = new Reader(bytes)
    assert.deepStrictEqual(decodeBasicProperties(r), props)
    assert.equal(r.pos, bytes.length)
  })

  test('a field table with one value of every type', () => {
    const bytes = hex(`
      00000085                 # table length: 133 bytes
      01 74 74 01              # t: true
      01 62 62 ff              # b: -1
      01 42 42 ff              # B: 255
      01 73 73 8000            # s: -32768
      01 75 75 ffff            # u: 65535
      01 49 49 80000000        # I: -2^31
      01 69 69 ffffffff        # i: 2^32-1
      01 6c 6c 7fffffffffffffff  # l: 2^63-1
      01 66 66 3fc00000        # f: 1.5
      01 64 64 400921fb54442d18  # d: pi
      01 44 44 02 00003039     # D: 123.45
      01 53 53 00000002 6869   # S: "hi"
      01 78 78 00000002 0001   # x: bytes 00 01
      01 54 54 0000000065b8d680  # T: 1706612352
      01 56 56                 # V
      01 46 46 00000007 01 6e 49 00000007  # F: {n: 7}
      01 41 41 00000007 53 00000002 6f6b    # A: ["ok"]
    `)
    const expected: Record<string, unknown> = {
      t: true,
      b: new TypedValue('b', -1),
      B: new TypedValue('B', 255),
      s: new TypedValue('s', -32768),
      u: new TypedValue('u', 65535),
      I: -0x8000_0000,
      i: new TypedValue('i', 0xffff_ffff),
      l: 2n ** 63n - 1n,
      f: new TypedValue('f', 1.5),
      d: Math.PI,
      D: new TypedValue('D', { scale: 2, value: 12345 }),
      S: 'hi',
      x: Buffer.from([0, 1]),
      T: new TypedValue('T', 0x65b8d680),
      V: null,
      F: Object.assign(Object.create(null) as object, { n: 7 }),
      A: ['ok'],
    }
    const r = new Reader(bytes)
    const table = readTable(r)
    assert.equal(r.pos, bytes.length)
    assert.deepStrictEqual({ ...table }, expected)
    assert.equal(encodeTable(table).toString('hex'), bytes.toString('hex'), 'decoding is lossless')
  })
})
