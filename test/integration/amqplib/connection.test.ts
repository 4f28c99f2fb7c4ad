// connection class: handshake, server properties, tuning (heartbeat, frame_max, channel_max), authentication
// and virtual host failures, update-secret and close.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import amqp, { IllegalOperationError } from 'amqplib'
import { startBroker, type TestBroker } from '../../helpers/broker.js'
import {
  Scope,
  TEST_TIMEOUT,
  consume,
  openChannel,
  rawHandshake,
  roundTrip,
  sleep,
  tuning,
  whenChannelClosed,
  whenConnectionClosed,
} from '../../helpers/amqplib.js'

function withCredentials(url: string, user: string, pass: string, path?: string): string {
  const u = new URL(url)
  u.username = encodeURIComponent(user)
  u.password = encodeURIComponent(pass)
  if (path !== undefined) u.pathname = path
  return u.toString()
}

function withQuery(url: string, query: Record<string, string | number>): string {
  const u = new URL(url)
  for (const [k, v] of Object.entries(query)) u.searchParams.set(k, String(v))
  return u.toString()
}

describe('amqplib: connection', () => {
  let broker: TestBroker
  let scope: Scope

  before(async () => {
    broker = await startBroker()
    scope = new Scope(broker.url, 'connection')
  })
  after(async () => {
    await scope.cleanup()
    await broker.stop()
  })

  test('handshake succeeds and a client close is clean', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const ch = await openChannel(conn)
    await roundTrip(ch)
    await conn.close()
    assert.equal(await whenConnectionClosed(conn), undefined, 'a client-initiated close carries no error')
    assert.equal(await whenChannelClosed(ch), undefined, 'channels close with the connection, without error')
    assert.throws(() => ch.publish('amq.direct', 'k', Buffer.from('x')), IllegalOperationError)
    await assert.rejects(conn.createChannel(), IllegalOperationError)
  })

  test('server properties announce the RabbitMQ capabilities clients look for', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const props = conn.connection.serverProperties as unknown as Record<string, unknown>
    for (const key of ['product', 'version', 'platform', 'copyright', 'information']) {
      assert.equal(typeof props[key], 'string', `server property ${key}`)
      assert.notEqual(props[key], '', `server property ${key}`)
    }
    // Clients (e.g. for feature detection) parse a dotted version
    assert.match(String(props['version']), /^\d+\.\d+\.\d+/)
    const capabilities = props['capabilities'] as Record<string, unknown>
    assert.equal(typeof capabilities, 'object')
    for (const cap of [
      'publisher_confirms',
      'exchange_exchange_bindings',
      'basic.nack',
      'consumer_cancel_notify',
      'connection.blocked',
      'consumer_priorities',
      'authentication_failure_close',
      'per_consumer_qos',
      'direct_reply_to',
    ]) {
      assert.equal(capabilities[cap], true, `capability ${cap}`)
    }
    await conn.close()
  })

  test(
    "tune proposes RabbitMQ's defaults: heartbeat 60, frame_max 131072, channel_max 2047",
    TEST_TIMEOUT,
    async () => {
      const result = await rawHandshake({ host: broker.host, port: broker.port })
      assert.deepEqual(result.tune, { channelMax: 2047, frameMax: 131072, heartbeat: 60 })
      assert.equal(result.opened, true)
      assert.deepEqual(result.methods, ['ConnectionStart', 'ConnectionTune', 'ConnectionOpenOk', 'ConnectionCloseOk'])
      // amqplib with no preferences takes the server's values
      const conn = await scope.connect()
      assert.deepEqual(tuning(conn), { heartbeat: 60, frameMax: 131072, channelMax: 2047 })
      await conn.close()
    },
  )

  test('the client may lower heartbeat, frame_max and channel_max', TEST_TIMEOUT, async () => {
    const conn = await scope.connect(undefined, withQuery(broker.url, { heartbeat: 5, frameMax: 8192, channelMax: 10 }))
    assert.deepEqual(tuning(conn), { heartbeat: 5, frameMax: 8192, channelMax: 10 })
    const ch = await openChannel(conn)
    await roundTrip(ch)
    await conn.close()
  })

  test('heartbeat 0 disables heartbeats', TEST_TIMEOUT, async () => {
    const conn = await scope.connect(undefined, withQuery(broker.url, { heartbeat: 0 }))
    assert.equal(tuning(conn).heartbeat, 0)
    await roundTrip(await openChannel(conn))
    await conn.close()
  })

  test('the server sends heartbeats on an idle connection', TEST_TIMEOUT, async () => {
    // amqplib declares the server dead after two heartbeat intervals without a frame
    const conn = await scope.connect(undefined, withQuery(broker.url, { heartbeat: 1 }))
    assert.equal(tuning(conn).heartbeat, 1)
    const ch = await openChannel(conn)
    let closed = false
    conn.once('close', () => (closed = true))
    await sleep(3500)
    assert.equal(closed, false, 'connection must survive idle time when the server heartbeats')
    await roundTrip(ch)
    await conn.close()
  })

  test('the server closes a connection whose client stops heartbeating', TEST_TIMEOUT, async () => {
    const conn = await scope.connect(undefined, withQuery(broker.url, { heartbeat: 1 }))
    await roundTrip(await openChannel(conn))
    // stop amqplib's heartbeats (and its own timeout check) so the client goes silent
    const internal = conn.connection as unknown as { heartbeater: { clear(): void } | null }
    internal.heartbeater?.clear()
    // RabbitMQ drops the TCP connection after missed heartbeats; it sends no connection.close
    const err = await whenConnectionClosed(conn, 8000)
    assert.ok(err, 'connection must be closed by the server')
    assert.notEqual(typeof err.code, 'number', `the socket is closed, not a connection.close: ${err.message}`)
  })

  test('frames from the server respect a small negotiated frame_max', TEST_TIMEOUT, async () => {
    // maxFrameSize makes amqplib reject any incoming frame larger than 4096 bytes
    const conn = await scope.connect(undefined, withQuery(broker.url, { frameMax: 4096, maxFrameSize: 4096 }))
    assert.equal(tuning(conn).frameMax, 4096)
    const ch = await openChannel(conn)
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    const body = Buffer.alloc(100_000)
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) % 251
    ch.sendToQueue(q, body)
    const { inbox } = await consume(ch, q, { noAck: true })
    const [msg] = await inbox.waitFor(1)
    assert.ok(msg!.content.equals(body), 'body reassembled from many 4096-byte frames')
    await ch.deleteQueue(q)
    await conn.close()
  })

  test('a frame_max below the 4096-byte minimum is refused', TEST_TIMEOUT, async () => {
    // RabbitMQ drops the connection during tuning (no connection.close is sent at that stage)
    await assert.rejects(amqp.connect(withQuery(broker.url, { frameMax: 1024 })))
  })

  test('a wrong password is refused with 403 ACCESS_REFUSED', TEST_TIMEOUT, async () => {
    const url = withCredentials(broker.url, 'guest', 'not-the-password')
    await assert.rejects(amqp.connect(url), (err: Error) => {
      // amqplib advertises authentication_failure_close, so RabbitMQ explains with a connection.close
      assert.equal(
        err.message,
        'Handshake terminated by server: 403 (ACCESS-REFUSED) with message ' +
          '"ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile."',
      )
      return true
    })
  })

  test('an unknown user is refused exactly like a wrong password', TEST_TIMEOUT, async () => {
    const result = await rawHandshake({ host: broker.host, port: broker.port, user: 'no-such-user', pass: 'x' })
    assert.deepEqual(result.close, {
      replyCode: 403,
      replyText:
        'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.',
      classId: 0,
      methodId: 0,
    })
    assert.deepEqual(result.methods, ['ConnectionStart', 'ConnectionClose'], 'no tune after a failed login')
    assert.equal(result.opened, false)
  })

  test('an unknown virtual host is refused with 530 NOT_ALLOWED on connection.open', TEST_TIMEOUT, async () => {
    await assert.rejects(amqp.connect(withCredentials(broker.url, 'guest', 'guest', '/no-such-vhost')))
    const result = await rawHandshake({ host: broker.host, port: broker.port, vhost: 'no-such-vhost' })
    assert.deepEqual(result.close, {
      replyCode: 530,
      replyText: 'NOT_ALLOWED - vhost no-such-vhost not found',
      classId: 10,
      methodId: 40,
    })
    assert.equal(result.opened, false)
  })

  test("the URL path '/%2F' names the default vhost '/'", TEST_TIMEOUT, async () => {
    const conn = await scope.connect(undefined, withCredentials(broker.url, 'guest', 'guest', '/%2F'))
    await roundTrip(await openChannel(conn))
    await conn.close()
  })

  test('connection.update-secret is answered with update-secret-ok', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    await conn.updateSecret(Buffer.from('guest'), 'rotation')
    await roundTrip(await openChannel(conn))
    await conn.close()
  })

  test('many concurrent connections', TEST_TIMEOUT, async () => {
    const conns = await Promise.all(Array.from({ length: 20 }, () => scope.connect()))
    await Promise.all(conns.map(async (c) => roundTrip(await openChannel(c))))
    await Promise.all(conns.map((c) => c.close()))
  })
})
