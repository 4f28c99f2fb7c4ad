// The handshake hands over to the connection (src/server/handshake.ts): bytes a client pipelines after
// connection.open, in the same socket write or split across writes, reach the connection in order;
// heartbeats run from tune-ok on, before connection.open; an error while connection.open is awaited is
// explained with connection.close naming the method.
// Runs against RabbitMQ too: WARREN_TEST_URL=amqp://guest:guest@127.0.0.1:5682/ node --test dist/test/integration/handshake.test.js
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { Method } from '../../src/protocol/generated/methods.js'
import { startBroker, type TestBroker } from '../helpers/broker.js'
import {
  AMQP_0_9_1_HEADER,
  RawClient,
  describe as describeMethod,
  methodFrame,
  plainResponse,
} from '../helpers/raw-client.js'
import { FRAME_HEARTBEAT } from '../../src/protocol/writer.js'

const T = { timeout: 30_000 }

let broker: TestBroker

before(async () => {
  broker = await startBroker()
})

after(async () => {
  await broker?.stop()
})

const startOk = methodFrame(0, {
  name: 'connection.start-ok',
  clientProperties: { product: 'warren handshake test' },
  mechanism: 'PLAIN',
  response: plainResponse('guest', 'guest'),
  locale: 'en_US',
})
const tuneOk = (heartbeat: number) =>
  methodFrame(0, { name: 'connection.tune-ok', channelMax: 0, frameMax: 131072, heartbeat })
const open = (virtualHost: string) =>
  methodFrame(0, { name: 'connection.open', virtualHost, capabilities: '', insist: false })
const channelOpen = (channel: number) => methodFrame(channel, { name: 'channel.open', outOfBand: '' })
const exclusiveQueue = methodFrame(1, {
  name: 'queue.declare',
  queue: '',
  passive: false,
  durable: false,
  exclusive: true,
  autoDelete: false,
  noWait: false,
  arguments: {},
})

/** The next method as "channel name", for comparing sequences. */
async function next(c: RawClient): Promise<string> {
  const m: Method & { channel: number } = await c.nextMethod()
  return `${m.channel} ${m.name === 'connection.close' ? describeMethod(m) : m.name}`
}

describe('the handshake hands the socket over to the connection', () => {
  test('the whole handshake, channel.open and queue.declare in one write: every answer, in order', T, async () => {
    const c = await RawClient.connect(broker.port)
    try {
      c.write(Buffer.concat([AMQP_0_9_1_HEADER, startOk, tuneOk(0), open('/'), channelOpen(1), exclusiveQueue]))
      const answers = []
      for (let i = 0; i < 5; i++) answers.push(await next(c))
      assert.deepEqual(answers, [
        '0 connection.start',
        '0 connection.tune',
        '0 connection.open-ok',
        '1 channel.open-ok',
        '1 queue.declare-ok',
      ])
    } finally {
      c.destroy()
    }
  })

  test('a frame after connection.open split across writes is joined by the connection', T, async () => {
    const c = await RawClient.connect(broker.port)
    try {
      c.write(AMQP_0_9_1_HEADER)
      await c.expect('connection.start')
      c.write(startOk)
      await c.expect('connection.tune')
      const first = channelOpen(1)
      c.write(Buffer.concat([tuneOk(0), open('/'), first.subarray(0, 5)]))
      await c.expect('connection.open-ok')
      c.write(Buffer.concat([first.subarray(5), channelOpen(2)]))
      assert.deepEqual([await next(c), await next(c)], ['1 channel.open-ok', '2 channel.open-ok'])
    } finally {
      c.destroy()
    }
  })

  test('heartbeats start at tune-ok: one arrives before connection.open is sent', T, async () => {
    const c = await RawClient.connect(broker.port)
    try {
      c.write(AMQP_0_9_1_HEADER)
      await c.expect('connection.start')
      c.write(startOk)
      await c.expect('connection.tune')
      c.write(tuneOk(1))
      const frame = await c.nextFrame(5000)
      assert.equal(frame.type, FRAME_HEARTBEAT, 'a heartbeat, not a method')
      assert.equal(frame.channel, 0)
      c.write(open('/'))
      await c.expect('connection.open-ok')
      c.write(channelOpen(1))
      await c.expect('channel.open-ok')
    } finally {
      c.destroy()
    }
  })

  test('an unknown vhost in connection.open: connection.close 530 naming connection.open (10, 40)', T, async () => {
    const c = await RawClient.connect(broker.port)
    try {
      c.write(AMQP_0_9_1_HEADER)
      await c.expect('connection.start')
      c.write(startOk)
      await c.expect('connection.tune')
      c.write(Buffer.concat([tuneOk(0), open('no-such-vhost'), channelOpen(1)]))
      const { close, socketClosed } = await c.waitForClose()
      assert.ok(close, 'connection.close')
      assert.equal(close.replyCode, 530)
      assert.equal(close.replyText, 'NOT_ALLOWED - vhost no-such-vhost not found')
      assert.deepEqual([close.classId, close.methodId], [10, 40])
      assert.ok(socketClosed, 'the socket closes after close-ok')
    } finally {
      c.destroy()
    }
  })
})
