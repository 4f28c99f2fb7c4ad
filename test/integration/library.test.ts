// Warren as a library (issue 9): startBroker from the public module (src/index.ts), its URL and port, close()
// closing clients with 320 and freeing the port, users, and handle() serving AMQP over streams that are not
// the broker's own sockets - a socket of another server, and an in-memory stream pair with no socket at all.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { createServer, type Server } from 'node:net'
import { dirname, join } from 'node:path'
import type { Duplex } from 'node:stream'
import amqp, { type ChannelModel } from 'amqplib'
import { startBroker, type WarrenBroker } from '../../src/index.js'
import { connect, openChannel, openConfirmChannel, whenConnectionClosed, withTimeout } from '../helpers/amqplib.js'
import { streamPair } from '../helpers/stream-pair.js'

const T = { timeout: 20_000 }

async function publishAndGet(conn: ChannelModel, queue: string, body: string): Promise<string | undefined> {
  const ch = await openConfirmChannel(conn)
  await ch.assertQueue(queue, { durable: true })
  // waitForConfirms: every publish confirmed; persistent into a durable queue, as tests of real code do
  ch.sendToQueue(queue, Buffer.from(body), { persistent: true })
  await ch.waitForConfirms()
  const got = await ch.get(queue, { noAck: true })
  await ch.close()
  return got === false ? undefined : got.content.toString()
}

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve(server))
  })
}

describe('startBroker', () => {
  test('listens on a free port, gives its URL, and a client publishes and gets', T, async () => {
    const broker = await startBroker({ port: 0, logLevel: 'silent' })
    try {
      assert.ok(broker.port > 0)
      assert.equal(broker.url, `amqp://guest:guest@127.0.0.1:${broker.port}/`)
      const conn = await connect(broker.url)
      assert.equal(await publishAndGet(conn, 'lib.roundtrip', 'hello'), 'hello')
      await conn.close()
    } finally {
      await broker.close()
    }
  })

  test('vhosts: made at start (in memory), the default user and the users given may use them', T, async () => {
    const broker = await startBroker({
      port: 0,
      logLevel: 'silent',
      defaultVhost: 'home',
      vhosts: ['tenant-a'],
      users: [{ name: 'app', password: 'app-pw' }],
    })
    try {
      for (const url of [
        `amqp://guest:guest@127.0.0.1:${broker.port}/home`,
        `amqp://guest:guest@127.0.0.1:${broker.port}/tenant-a`,
        `amqp://app:app-pw@127.0.0.1:${broker.port}/tenant-a`,
      ]) {
        const conn = await connect(url)
        assert.equal(await publishAndGet(conn, 'lib.vhost', url), url)
        await conn.close()
      }
      // '/' is not made when another default vhost is named, as in RabbitMQ
      await assert.rejects(connect(`amqp://guest:guest@127.0.0.1:${broker.port}/`))
    } finally {
      await broker.close()
    }
  })

  test('close() closes clients with 320 CONNECTION_FORCED and frees the port', T, async () => {
    const broker = await startBroker({ port: 0, host: '127.0.0.1', logLevel: 'silent' })
    const conn = await connect(broker.url)
    await openChannel(conn)
    const closing = whenConnectionClosed(conn)
    await broker.close()
    const err = await closing
    assert.equal(err?.code, 320)
    assert.match(err?.message ?? '', /CONNECTION_FORCED/)
    // The port is free again: another server can listen on it at once
    const server = await listenOn(broker.port)
    await new Promise((resolve) => server.close(resolve))
    // A second close() is harmless, and a stream handed over afterwards is destroyed, not served
    await broker.close()
    const [, late] = streamPair()
    broker.handle(late)
    assert.equal(late.destroyed, true)
  })

  test('a port already taken is an error, and nothing stays open', T, async () => {
    const taken = await listenOn(0)
    const port = (taken.address() as { port: number }).port
    try {
      await assert.rejects(startBroker({ port, host: '127.0.0.1', logLevel: 'silent' }), { code: 'EADDRINUSE' })
    } finally {
      await new Promise((resolve) => taken.close(resolve))
    }
  })

  test('a misspelt option is refused rather than ignored', async () => {
    await assert.rejects(startBroker({ logLvel: 'silent' } as never), /unknown option 'logLvel'/)
    await assert.rejects(startBroker({ bind: '127.0.0.1' } as never), /unknown option 'bind'/)
  })

  test('users: more users log in, the default user still does, a wrong password does not', T, async () => {
    const broker = await startBroker({
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      users: [
        { name: 'app', password: 's3cret/:@' },
        { name: 'ops', password: 'ops', tags: ['administrator'] },
        { name: 'reader', password: 'r', permissions: { '/': { configure: '', write: '', read: '.*' } } },
        { name: 'outsider', password: 'o', permissions: {} },
      ],
    })
    try {
      const app = await connect(`amqp://app:${encodeURIComponent('s3cret/:@')}@127.0.0.1:${broker.port}/`)
      assert.equal(await publishAndGet(app, 'lib.users', 'as app'), 'as app')
      await app.close()
      const guest = await connect(broker.url)
      await guest.close()
      await assert.rejects(amqp.connect(`amqp://app:wrong@127.0.0.1:${broker.port}/`), /ACCESS_REFUSED|403/)
      // permissions: a user given some gets those; one given none cannot open the vhost
      const reader = await connect(`amqp://reader:r@127.0.0.1:${broker.port}/`)
      const ch = await reader.createChannel()
      ch.on('error', () => {})
      await assert.rejects(ch.assertQueue('lib.users.reader'), /ACCESS_REFUSED/)
      await reader.close()
      await assert.rejects(amqp.connect(`amqp://outsider:o@127.0.0.1:${broker.port}/`), /ConnectionClose/)
    } finally {
      await broker.close()
    }
  })

  test('defaultUser and defaultPass make the URL', T, async () => {
    const broker = await startBroker({ port: 0, logLevel: 'silent', defaultUser: 'me', defaultPass: 'p@ss' })
    try {
      assert.equal(broker.url, `amqp://me:p%40ss@127.0.0.1:${broker.port}/`)
      const conn = await connect(broker.url)
      await conn.close()
    } finally {
      await broker.close()
    }
  })
})

describe('handle(stream)', () => {
  let broker: WarrenBroker
  before(async () => {
    broker = await startBroker({ port: 0, host: '127.0.0.1', logLevel: 'silent' })
  })
  after(() => broker.close())

  test('serves the sockets of a server the application owns', T, async () => {
    // e.g. an application that accepts connections itself and passes some of them to the broker
    const front = createServer((socket) => broker.handle(socket))
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve))
    const port = (front.address() as { port: number }).port
    try {
      const conn = await connect(`amqp://guest:guest@127.0.0.1:${port}/`)
      assert.equal(await publishAndGet(conn, 'lib.handle.socket', 'via another server'), 'via another server')
      await conn.close()
    } finally {
      await new Promise((resolve) => front.close(resolve))
    }
  })

  test('serves an in-memory stream pair: amqplib over no socket at all', T, async () => {
    const [clientSide, brokerSide] = streamPair()
    broker.handle(brokerSide)
    const conn = await openAmqplibOver(clientSide)
    assert.equal(await publishAndGet(conn, 'lib.handle.memory', 'in memory'), 'in memory')
    await conn.close()
  })

  test('a stream said to come from a remote peer may not log in as guest', T, async () => {
    const [clientSide, brokerSide] = streamPair()
    broker.handle(brokerSide, { remoteAddress: '203.0.113.9', remotePort: 40000 })
    await assert.rejects(openAmqplibOver(clientSide), /ACCESS_REFUSED|403|can only connect via localhost/)
    clientSide.destroy()
  })

  test("loopbackUsers: [] (RabbitMQ's loopback_users = none) lets guest in from a remote peer", T, async () => {
    const open = await startBroker({ port: 0, host: '127.0.0.1', logLevel: 'silent', loopbackUsers: [] })
    try {
      const [clientSide, brokerSide] = streamPair()
      open.handle(brokerSide, { remoteAddress: '203.0.113.9', remotePort: 40000 })
      const conn = await openAmqplibOver(clientSide)
      assert.equal(await publishAndGet(conn, 'lib.loopback.none', 'from afar'), 'from afar')
      await conn.close()
    } finally {
      await open.close()
    }
  })
})

// amqplib opens connections over sockets it makes itself; its Connection class takes any stream, but is not
// in the package's exports, so it is loaded by path (as test/helpers/amqplib.ts loads its codec)
const requireCjs = createRequire(import.meta.url)
const amqplibLib = join(dirname(requireCjs.resolve('amqplib')), 'lib')
interface AmqplibConnection {
  open(fields: Record<string, unknown>, done: (err: Error | null) => void): void
}
const { Connection } = requireCjs(join(amqplibLib, 'connection.js')) as {
  Connection: new (stream: Duplex) => AmqplibConnection
}
const { ChannelModel } = requireCjs(join(amqplibLib, 'channel_model.js')) as {
  ChannelModel: new (connection: AmqplibConnection) => ChannelModel
}

async function openAmqplibOver(stream: Duplex): Promise<ChannelModel> {
  const connection = new Connection(stream)
  await withTimeout(
    new Promise<void>((resolve, reject) =>
      connection.open(
        {
          clientProperties: {
            product: 'amqplib over a stream pair',
            capabilities: { authentication_failure_close: true },
          },
          mechanism: 'PLAIN',
          response: Buffer.from('\0guest\0guest'),
          locale: 'en_US',
          channelMax: 0,
          frameMax: 131072,
          heartbeat: 0,
          virtualHost: '/',
          capabilities: '',
          insist: 0,
        },
        (err) => (err ? reject(err) : resolve()),
      ),
    ),
    10_000,
    'the connection over the stream pair to open',
  )
  const model = new ChannelModel(connection)
  model.on('error', () => {})
  return model
}
