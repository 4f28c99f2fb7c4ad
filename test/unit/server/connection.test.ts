// One AMQP connection at a time, served by broker.handle() over an in-memory stream pair (no socket): the
// handshake, login refusals, pipelined frames, channel and connection errors, heartbeats and both close
// handshakes. Every test sends exact bytes with the raw client (test/helpers/raw-client.ts) and asserts the
// exact methods that come back, and whether the broker ends the stream; nothing here looks at Warren's
// internals, so the tests hold however the connection code is arranged.
//
// The expectations are RabbitMQ's (3.x); test/integration/hostile.test.ts and connection-close.test.ts
// check the same edges over real sockets, against RabbitMQ too.
import '../../../src/protocol/field-table.js' // before writer.js (module cycle, see test/unit/protocol/writer.test.ts)
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { Duplex } from 'node:stream'
import { startBroker, type WarrenBroker } from '../../../src/index.js'
import type { FieldTable } from '../../../src/protocol/field-value.js'
import { FRAME_BODY, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD } from '../../../src/protocol/writer.js'
import {
  AMQP_0_9_1_HEADER,
  RawClient,
  amqplainResponse,
  bodyFrame,
  describe as describeMethod,
  headerFrame,
  heartbeatFrame,
  methodFrame,
  plainResponse,
  type HandshakeOptions,
  type RawFrame,
} from '../../helpers/raw-client.js'
import { streamPair } from '../../helpers/stream-pair.js'

const T = { timeout: 15_000 }
/** Generous bounds for what should happen at once: they only decide how long a failing test takes */
const WAIT_MS = 5000
/** RabbitMQ closes a refused login silently after 3 s (SILENT_CLOSE_DELAY); this only bounds the wait */
const SILENT_CLOSE_WAIT_MS = 10_000

/** What RabbitMQ 3.x announces in connection.start's capabilities, and Warren with it */
const SERVER_CAPABILITIES = {
  publisher_confirms: true,
  exchange_exchange_bindings: true,
  'basic.nack': true,
  consumer_cancel_notify: true,
  'connection.blocked': true,
  consumer_priorities: true,
  authentication_failure_close: true,
  per_consumer_qos: true,
  direct_reply_to: true,
}

let broker: WarrenBroker

before(async () => {
  broker = await startBroker({ port: 0, host: '127.0.0.1', logLevel: 'silent' })
})

after(() => broker.close())

/** A raw client over a new stream pair whose other side the broker serves. */
function connect(on: WarrenBroker = broker): RawClient<Duplex> {
  const [clientSide, brokerSide] = streamPair()
  on.handle(brokerSide)
  return RawClient.over(clientSide)
}

/** A raw client through the handshake, up to open-ok. */
function open(options: HandshakeOptions = {}, on: WarrenBroker = broker): Promise<RawClient<Duplex>> {
  return RawClient.openOver(connect(on), options)
}

/** The protocol header, then connection.start. */
async function start(c: RawClient<Duplex>) {
  c.write(AMQP_0_9_1_HEADER)
  return c.expect('connection.start', WAIT_MS)
}

function startOk(response: Buffer, clientProperties: FieldTable, mechanism = 'PLAIN') {
  return { name: 'connection.start-ok' as const, clientProperties, mechanism, response, locale: 'en_US' }
}

/** The broker's connection.close: its code, text and the method it blames. */
async function expectConnectionClose(c: RawClient<Duplex>, replyCode: number, replyText: string, method: number[]) {
  const close = await c.expect('connection.close', WAIT_MS)
  assert.equal(close.channel, 0)
  assert.deepEqual(
    { replyCode: close.replyCode, replyText: close.replyText, method: [close.classId, close.methodId] },
    { replyCode, replyText, method },
  )
}

/** After the broker's connection.close: close-ok, and the broker ends the stream. */
async function answerCloseOk(c: RawClient<Duplex>): Promise<void> {
  c.send(0, { name: 'connection.close-ok' })
  assert.ok(await c.waitSocketClosed(WAIT_MS), 'the broker ends the stream after close-ok')
}

/** The connection still works: a new channel opens. */
async function expectAlive(c: RawClient<Duplex>, channel: number): Promise<void> {
  c.send(channel, { name: 'channel.open' })
  const m = await c.nextMethod(WAIT_MS)
  assert.deepEqual([m.name, m.channel], ['channel.open-ok', channel], describeMethod(m))
}

const declare = (queue: string, passive = false) => ({
  name: 'queue.declare' as const,
  queue,
  passive,
  durable: false,
  exclusive: true,
  autoDelete: false,
  noWait: false,
  arguments: {},
})

const publish = (routingKey: string) => ({
  name: 'basic.publish' as const,
  exchange: '',
  routingKey,
  mandatory: false,
  immediate: false,
})

/** What a frame is, for comparing sequences of frames in one assertion. */
function frameSummary(f: RawFrame): string {
  if (f.method) return `${f.channel} ${describeMethod(f.method)}`
  if (f.type === FRAME_HEADER) return `${f.channel} header`
  if (f.type === FRAME_BODY) return `${f.channel} body ${f.payload.toString()}`
  if (f.type === FRAME_HEARTBEAT) return `${f.channel} heartbeat`
  return `${f.channel} frame type ${f.type}`
}

async function nextFrames(c: RawClient<Duplex>, count: number): Promise<RawFrame[]> {
  const frames: RawFrame[] = []
  while (frames.length < count) frames.push(await c.nextFrame(WAIT_MS))
  return frames
}

// ---------------------------------------------------------------------------------------------------------

describe('the handshake', { concurrency: true }, () => {
  test("connection.start: AMQP 0-9, the server's properties and capabilities, PLAIN and AMQPLAIN", T, async () => {
    const c = connect()
    c.write(AMQP_0_9_1_HEADER)
    const frame = await c.nextFrame(WAIT_MS)
    assert.deepEqual([frame.type, frame.channel], [FRAME_METHOD, 0])
    const m = frame.method
    assert.ok(m?.name === 'connection.start', m && describeMethod(m))
    assert.deepEqual([m.versionMajor, m.versionMinor], [0, 9])
    const properties = m.serverProperties
    // RabbitMQ's keys, with Warren's values
    assert.deepEqual(Object.keys(properties).sort(), [
      'capabilities',
      'cluster_name',
      'copyright',
      'information',
      'platform',
      'product',
      'version',
    ])
    assert.equal(properties['product'], 'Warren')
    assert.equal(typeof properties['version'], 'string')
    assert.equal(typeof properties['platform'], 'string')
    // (decoded tables have no prototype)
    assert.deepEqual({ ...(properties['capabilities'] as FieldTable) }, SERVER_CAPABILITIES)
    assert.equal(String(m.mechanisms), 'PLAIN AMQPLAIN')
    assert.equal(String(m.locales), 'en_US')
    c.destroy()
  })

  test('PLAIN login: tune offers channel_max 2047, frame_max 131072, heartbeat 60; open-ok on "/"', T, async () => {
    const c = connect()
    await start(c)
    c.send(0, startOk(plainResponse('guest', 'guest'), { product: 'raw' }))
    const tune = await c.expect('connection.tune', WAIT_MS)
    assert.deepEqual(
      [tune.channel, tune.channelMax, tune.frameMax, tune.heartbeat],
      [0, 2047, 131072, 60],
      'the defaults, as RabbitMQ',
    )
    c.send(0, { name: 'connection.tune-ok', channelMax: 2047, frameMax: 131072, heartbeat: 0 })
    c.send(0, { name: 'connection.open', virtualHost: '/' })
    const openOk = await c.expect('connection.open-ok', WAIT_MS)
    assert.equal(openOk.channel, 0)
    await expectAlive(c, 1)
    await c.close()
  })

  test('AMQPLAIN login: a LOGIN/PASSWORD table', T, async () => {
    const c = connect()
    const m = await c.handshake({
      mechanism: 'AMQPLAIN',
      response: amqplainResponse({ LOGIN: 'guest', PASSWORD: 'guest' }),
    })
    assert.equal(m.name, 'connection.open-ok', describeMethod(m))
    await expectAlive(c, 1)
    await c.close()
  })

  test(
    'limits the client lowers in tune-ok hold: frames it gets fit frame_max, channels stop at channel_max',
    T,
    async () => {
      const c = await open({ channelMax: 2, frameMax: 4096 })
      await c.openChannel(1)
      c.send(1, declare('conn.tune.small-frames'))
      await c.expect('queue.declare-ok', WAIT_MS)
      // The client sends within frame_max too: 10,000 bytes in 4088-byte bodies (4096 with the frame's 8)
      const body = Buffer.alloc(10_000, 'x')
      c.send(1, publish('conn.tune.small-frames'))
      c.sendHeader(1, body.length)
      for (let at = 0; at < body.length; at += 4088) c.sendBody(1, body.subarray(at, at + 4088))
      c.send(1, { name: 'basic.get', queue: 'conn.tune.small-frames', noAck: true })
      await c.expect('basic.get-ok', WAIT_MS)
      const header = await c.nextFrame(WAIT_MS)
      assert.equal(header.type, FRAME_HEADER)
      const bodies = await nextFrames(c, 3)
      assert.deepEqual(
        bodies.map((f) => [f.type, f.channel, f.payload.length]),
        [
          [FRAME_BODY, 1, 4088],
          [FRAME_BODY, 1, 4088],
          [FRAME_BODY, 1, 10_000 - 2 * 4088],
        ],
        'the body in frames of at most frame_max bytes',
      )
      assert.ok(Buffer.concat(bodies.map((f) => f.payload)).equals(body))
      // channel_max counts open channels (RabbitMQ), whatever their numbers
      await c.openChannel(2)
      c.send(3, { name: 'channel.open' })
      const close = await c.expect('connection.close', WAIT_MS)
      // (RabbitMQ blames no method here: see 'RabbitMQ differences')
      assert.deepEqual(
        [close.replyCode, close.replyText],
        [530, 'NOT_ALLOWED - number of channels opened (2) has reached the negotiated channel_max (2)'],
      )
      await answerCloseOk(c)
    },
  )

  test('connection.open of a vhost that does not exist: connection.close 530 NOT_ALLOWED', T, async () => {
    const c = connect()
    const m = await c.handshake({ vhost: 'no-such-vhost' })
    assert.ok(m.name === 'connection.close', describeMethod(m))
    assert.deepEqual(
      [m.replyCode, m.replyText, m.classId, m.methodId],
      [530, 'NOT_ALLOWED - vhost no-such-vhost not found', 10, 40],
    )
    await answerCloseOk(c)
  })

  for (const [what, header] of [
    ['AMQP 0-9-2', Buffer.from('AMQP\x00\x00\x09\x02', 'latin1')],
    ['AMQP 0-10', Buffer.from('AMQP\x01\x01\x00\x0a', 'latin1')],
    ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n')],
  ] as const) {
    test(`${what} instead of the protocol header: AMQP 0-9-1's header comes back, then the end`, T, async () => {
      const [clientSide, brokerSide] = streamPair()
      broker.handle(brokerSide)
      const c = RawClient.over(clientSide, false)
      c.write(header)
      assert.ok(await c.waitSocketClosed(WAIT_MS), 'the broker ends the stream')
      assert.equal(c.receivedBytes.toString('latin1'), AMQP_0_9_1_HEADER.toString('latin1'))
    })
  }

  test('a refused login, client with authentication_failure_close: connection.close 403 at once', T, async () => {
    const c = connect()
    await start(c)
    c.send(
      0,
      startOk(plainResponse('guest', 'wrong'), {
        product: 'raw',
        capabilities: { authentication_failure_close: true },
      }),
    )
    await expectConnectionClose(
      c,
      403,
      'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.',
      [0, 0],
    )
    await answerCloseOk(c)
  })

  test('a refused login, client without authentication_failure_close: no answer, the stream ends', T, async () => {
    // RabbitMQ's silent close (after 3 s), as connection-close.test.ts checks over a socket with its timing
    const c = connect()
    await start(c)
    c.send(
      0,
      startOk(plainResponse('guest', 'wrong'), { product: 'raw', capabilities: { 'connection.blocked': true } }),
    )
    assert.ok(await c.waitSocketClosed(SILENT_CLOSE_WAIT_MS), 'the broker ends the stream')
    await assert.rejects(c.nextFrame(0), /closed the connection/, 'nothing came after connection.start')
  })
})

describe('pipelined frames', { concurrency: true }, () => {
  test('tune-ok, open, channel.open, declare, publish and get in one write: answered in order', T, async () => {
    const c = connect()
    await start(c)
    c.send(0, startOk(plainResponse('guest', 'guest'), { product: 'raw' }))
    await c.expect('connection.tune', WAIT_MS)
    const queue = 'conn.pipelined'
    c.write(
      Buffer.concat([
        methodFrame(0, { name: 'connection.tune-ok', channelMax: 2047, frameMax: 131072, heartbeat: 0 }),
        methodFrame(0, { name: 'connection.open', virtualHost: '/' }),
        methodFrame(1, { name: 'channel.open' }),
        methodFrame(1, declare(queue)),
        methodFrame(1, publish(queue)),
        headerFrame(1, 9),
        bodyFrame(1, Buffer.from('pipelined')),
        methodFrame(1, { name: 'basic.get', queue, noAck: true }),
        methodFrame(2, { name: 'channel.open' }),
      ]),
    )
    // In order on each channel; RabbitMQ's channels run apart, so channel 2's open-ok may come before the
    // end of channel 1's answers (it does)
    const frames = await nextFrames(c, 7)
    assert.equal(frameSummary(frames[0]!), '0 connection.open-ok')
    const onChannel = (channel: number) => frames.filter((f) => f.channel === channel).map(frameSummary)
    assert.deepEqual(onChannel(1), [
      '1 channel.open-ok',
      '1 queue.declare-ok',
      '1 basic.get-ok',
      '1 header',
      '1 body pipelined',
    ])
    assert.deepEqual(onChannel(2), ['2 channel.open-ok'])
    await c.close()
  })

  test('the protocol header and start-ok in one write', T, async () => {
    const c = connect()
    c.write(
      Buffer.concat([AMQP_0_9_1_HEADER, methodFrame(0, startOk(plainResponse('guest', 'guest'), { product: 'raw' }))]),
    )
    assert.deepEqual(
      (await nextFrames(c, 2)).map((f) => f.method?.name),
      ['connection.start', 'connection.tune'],
    )
    c.destroy()
  })
})

describe('channel errors', { concurrency: true }, () => {
  test(
    "channel.open on an open channel: connection.close 504 CHANNEL_ERROR - second 'channel.open' seen",
    T,
    async () => {
      const c = await open()
      await c.openChannel(1)
      c.send(1, { name: 'channel.open' })
      await expectConnectionClose(c, 504, "CHANNEL_ERROR - second 'channel.open' seen", [20, 10])
      await answerCloseOk(c)
    },
  )

  test('a method on a channel never opened: connection.close 504, blaming the method', T, async () => {
    const c = await open()
    c.send(5, { name: 'basic.qos', prefetchSize: 0, prefetchCount: 1, global: false })
    const close = await c.expect('connection.close', WAIT_MS)
    assert.deepEqual([close.replyCode, close.classId, close.methodId], [504, 60, 10], describeMethod(close))
    await answerCloseOk(c)
  })

  test('a soft error closes only its channel: passive declare of a missing queue, channel.close 404', T, async () => {
    const c = await open()
    await c.openChannel(1)
    await c.openChannel(2)
    c.send(1, declare('conn.no-such-queue', true))
    const close = await c.expect('channel.close', WAIT_MS)
    assert.deepEqual(
      [close.channel, close.replyCode, close.replyText, close.classId, close.methodId],
      [1, 404, "NOT_FOUND - no queue 'conn.no-such-queue' in vhost '/'", 50, 10],
    )
    c.send(1, { name: 'channel.close-ok' })
    // The other channel works, and the closed channel's number may be opened again
    c.send(2, declare('conn.soft-error'))
    const declareOk = await c.expect('queue.declare-ok', WAIT_MS)
    assert.deepEqual([declareOk.channel, declareOk.queue], [2, 'conn.soft-error'])
    await c.openChannel(1)
    await c.close()
  })
})

// What RabbitMQ 3.x answered to the same bytes over a socket, where Warren answered otherwise when written
describe('RabbitMQ differences', { concurrency: true }, () => {
  test("RabbitMQ: a method on a channel never opened: 504 CHANNEL_ERROR - expected 'channel.open'", T, async () => {
    const c = await open()
    c.send(5, { name: 'basic.qos', prefetchSize: 0, prefetchCount: 1, global: false })
    await expectConnectionClose(c, 504, "CHANNEL_ERROR - expected 'channel.open'", [60, 10])
    await answerCloseOk(c)
  })

  test('RabbitMQ: a channel over the negotiated channel_max: 530 blaming no method (0, 0)', T, async () => {
    const c = await open({ channelMax: 1 })
    await c.openChannel(1)
    c.send(2, { name: 'channel.open' })
    await expectConnectionClose(
      c,
      530,
      'NOT_ALLOWED - number of channels opened (1) has reached the negotiated channel_max (1)',
      [0, 0],
    )
    await answerCloseOk(c)
  })
})

describe('heartbeats', { concurrency: true }, () => {
  test('negotiated to 1 s the broker sends heartbeats; negotiated to 0, none', T, async () => {
    // A broker proposing 1 s: a client that answers 0 must get none all the same
    const proposing = await startBroker({ port: 0, host: '127.0.0.1', logLevel: 'silent', heartbeat: 1 })
    try {
      const [silent, beating] = await Promise.all([
        open({ heartbeat: 0 }, proposing),
        open({ heartbeat: 1 }, proposing),
      ])
      assert.deepEqual([silent.tune?.heartbeat, beating.tune?.heartbeat], [1, 1], 'the broker proposed 1 s')
      // Both at once: by the time one has had two heartbeats, the other would have had one if it got any
      for (let i = 0; i < 2; i++) {
        assert.equal(frameSummary(await beating.nextFrame(WAIT_MS)), '0 heartbeat')
        beating.write(heartbeatFrame()) // and the client's, so that the broker does not give up on it
      }
      silent.send(1, { name: 'channel.open' })
      assert.equal(frameSummary(await silent.nextFrame(WAIT_MS)), '1 channel.open-ok', 'no heartbeat came before')
      await Promise.all([silent.close(), beating.close()])
    } finally {
      await proposing.close()
    }
  })
})

describe('closing', { concurrency: true }, () => {
  test("the client's connection.close: close-ok, and the stream ends once the client ends its side", T, async () => {
    const c = await open()
    await c.openChannel(1)
    c.send(0, { name: 'connection.close', replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 })
    const closeOk = await c.expect('connection.close-ok', WAIT_MS)
    assert.equal(closeOk.channel, 0)
    // Like RabbitMQ, the broker leaves the connection to the client after close-ok (no close-ok lost in flight)
    c.stream.end()
    assert.ok(await c.waitSocketClosed(WAIT_MS), 'the stream ends')
  })

  test('broker.close(): connection.close 320 CONNECTION_FORCED arrives on the stream', T, async () => {
    const own = await startBroker({ port: 0, host: '127.0.0.1', logLevel: 'silent' })
    const c = await open({}, own)
    await c.openChannel(1)
    const closing = own.close()
    await expectConnectionClose(
      c,
      320,
      "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'",
      [0, 0],
    )
    await answerCloseOk(c)
    await closing
  })
})
