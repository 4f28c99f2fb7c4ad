// How connections end, at the edges (issue #7, items 7 and 8), over raw sockets and with RabbitMQ's Go client:
// - a failed handshake is answered as RabbitMQ does: a silent close after 3 s, except a refused login from a
//   client that announced authentication_failure_close, which gets connection.close 403;
// - after the client's connection.close the broker answers every further connection.close with close-ok and
//   leaves the socket to the client, so that no close-ok in flight is lost (amqp091-go closing from many
//   goroutines at once saw EOF instead).
// Runs against RabbitMQ too: WARREN_TEST_URL=amqp://guest:guest@127.0.0.1:5682/ node --test dist/test/integration/connection-close.test.js
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startBroker, type TestBroker } from '../helpers/broker.js'
import { runProcess } from '../helpers/python.js'
import {
  AMQP_0_9_1_HEADER,
  RawClient,
  bodyFrame,
  describe as describeMethod,
  headerFrame,
  methodFrame,
  plainResponse,
  type RawFrame,
} from '../helpers/raw-client.js'

const T = { timeout: 30_000 }
/** RabbitMQ's SILENT_CLOSE_DELAY is 3 s; allow for timer slack on a loaded machine */
const SILENT_CLOSE_MIN_MS = 2500
const SILENT_CLOSE_WAIT_MS = 8000

let broker: TestBroker

before(async () => {
  broker = await startBroker()
})

after(async () => {
  await broker?.stop()
})

/** Everything a client got after connection.start until the server closed the socket. */
async function framesUntilClosed(c: RawClient, ms: number): Promise<RawFrame[]> {
  const frames: RawFrame[] = []
  const deadline = Date.now() + ms
  for (;;) {
    try {
      frames.push(await c.nextFrame(Math.max(1, deadline - Date.now())))
    } catch {
      return frames
    }
  }
}

function startOk(response: Buffer, capabilities: Record<string, boolean> | undefined) {
  return {
    name: 'connection.start-ok' as const,
    clientProperties: { product: 'warren close test', ...(capabilities ? { capabilities } : {}) },
    mechanism: 'PLAIN',
    response,
    locale: 'en_US',
  }
}

describe('a failed login', { concurrency: true }, () => {
  for (const [what, capabilities] of [
    ['no capabilities table', undefined],
    ['authentication_failure_close absent', { 'connection.blocked': true }],
    ['authentication_failure_close=false', { authentication_failure_close: false }],
  ] as const) {
    test(`${what}: no connection.close, the socket is closed after 3 s`, T, async () => {
      const c = await RawClient.connect(broker.port, broker.host)
      c.write(AMQP_0_9_1_HEADER)
      await c.expect('connection.start')
      const sent = Date.now()
      c.send(0, startOk(plainResponse('guest', 'not-the-password'), capabilities))
      const frames = await framesUntilClosed(c, SILENT_CLOSE_WAIT_MS)
      const elapsed = Date.now() - sent
      assert.deepEqual(
        frames.map((f) => (f.method ? describeMethod(f.method) : `frame type ${f.type}`)),
        [],
        'nothing after connection.start',
      )
      assert.ok(c.isClosed, 'the server closed the socket')
      assert.ok(elapsed >= SILENT_CLOSE_MIN_MS, `closed after ${elapsed} ms, RabbitMQ waits 3 s`)
      c.destroy()
    })
  }

  test('authentication_failure_close=true: connection.close 403 ACCESS_REFUSED at once', T, async () => {
    const c = await RawClient.connect(broker.port, broker.host)
    c.write(AMQP_0_9_1_HEADER)
    await c.expect('connection.start')
    c.send(0, startOk(plainResponse('guest', 'not-the-password'), { authentication_failure_close: true }))
    const close = await c.expect('connection.close')
    assert.equal(close.replyCode, 403)
    assert.equal(
      close.replyText,
      'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.',
    )
    c.send(0, { name: 'connection.close-ok' })
    assert.ok(await c.waitSocketClosed(3000), 'socket closed after close-ok')
  })

  test('while the silent close waits, whatever the client sends is not answered', T, async () => {
    const c = await RawClient.connect(broker.port, broker.host)
    c.write(AMQP_0_9_1_HEADER)
    await c.expect('connection.start')
    c.send(0, startOk(plainResponse('guest', 'wrong'), undefined))
    c.send(0, { name: 'connection.tune-ok', channelMax: 2047, frameMax: 131072, heartbeat: 0 })
    c.send(0, { name: 'connection.open', virtualHost: '/' })
    c.send(1, { name: 'channel.open' })
    const frames = await framesUntilClosed(c, SILENT_CLOSE_WAIT_MS)
    assert.deepEqual(frames.length, 0, 'no answer to anything')
    assert.ok(c.isClosed)
  })
})

describe('other handshake failures before connection.open: a silent close, as RabbitMQ', { concurrency: true }, () => {
  test('a malformed PLAIN response, even with authentication_failure_close', T, async () => {
    const c = await RawClient.connect(broker.port, broker.host)
    c.write(AMQP_0_9_1_HEADER)
    await c.expect('connection.start')
    c.send(0, startOk(Buffer.from('guestguest'), { authentication_failure_close: true }))
    assert.deepEqual(await framesUntilClosed(c, SILENT_CLOSE_WAIT_MS), [])
    assert.ok(c.isClosed)
  })

  test('tune-ok with frame_max below 4096', T, async () => {
    const c = await RawClient.connect(broker.port, broker.host)
    c.write(AMQP_0_9_1_HEADER)
    await c.expect('connection.start')
    c.send(0, startOk(plainResponse('guest', 'guest'), { authentication_failure_close: true }))
    await c.expect('connection.tune')
    c.send(0, { name: 'connection.tune-ok', channelMax: 2047, frameMax: 1024, heartbeat: 0 })
    assert.deepEqual(await framesUntilClosed(c, SILENT_CLOSE_WAIT_MS), [])
    assert.ok(c.isClosed)
  })
})

const CLOSE = methodFrame(0, { name: 'connection.close', replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 })

describe("the client's connection.close", () => {
  test(
    'close, then at once a burst of publishes and more closes: a close-ok for every close, 50 times',
    T,
    async () => {
      const closes = 5
      for (let attempt = 0; attempt < 50; attempt++) {
        const c = await RawClient.open(broker.port, broker.host)
        await c.openChannel(1)
        const burst: Buffer[] = [CLOSE]
        for (let i = 1; i < closes; i++) {
          for (let j = 0; j < 20; j++) {
            burst.push(
              methodFrame(1, {
                name: 'basic.publish',
                exchange: '',
                routingKey: 'no-such-queue',
                mandatory: false,
                immediate: false,
              }),
              headerFrame(1, 2000),
              bodyFrame(1, Buffer.alloc(2000, j)),
            )
          }
          burst.push(CLOSE)
        }
        c.write(Buffer.concat(burst))
        for (let i = 0; i < closes; i++) {
          const m = await c.nextMethod(3000).catch((err: Error) => err)
          assert.ok(
            !(m instanceof Error) && m.name === 'connection.close-ok',
            `attempt ${attempt}: close-ok ${i + 1} of ${closes}: got ${m instanceof Error ? m.message : describeMethod(m)}`,
          )
        }
        assert.equal(c.isClosed, false, 'the socket is left for the client to close')
        c.destroy()
      }
    },
  )

  test('once the client closes its side, the server closes too', T, async () => {
    const c = await RawClient.open(broker.port, broker.host)
    c.write(CLOSE)
    await c.expect('connection.close-ok')
    c.stream.end()
    assert.ok(await c.waitSocketClosed(3000), 'socket closed')
  })
})

/** test/go/close-race, found from this file (compiled to dist/test/integration/). */
function goProgramDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'test', 'go', 'close-race')
    if (existsSync(join(candidate, 'main.go'))) return candidate
    dir = dirname(dir)
  }
  throw new Error('cannot locate test/go/close-race/main.go')
}

const goMissing = spawnSync('go', ['version']).error !== undefined

describe('amqp091-go (RabbitMQ Go client)', () => {
  test(
    'closing one connection from 10 goroutines at once, 20 times: no Close sees EOF',
    {
      timeout: 120_000,
      skip: goMissing ? 'the go toolchain is not installed (scripts/ensure-deps.sh --test installs golang-go)' : false,
    },
    async () => {
      const out = await mkdtemp(join(tmpdir(), 'warren-go-'))
      try {
        const env = {
          GO111MODULE: 'off',
          GOPATH: '/usr/share/gocode',
          GOCACHE: process.env['GOCACHE'] ?? join(tmpdir(), 'warren-go-cache'),
        }
        const binary = join(out, 'close-race')
        const build = spawnSync('go', ['build', '-o', binary, '.'], {
          cwd: goProgramDir(),
          env: { ...process.env, ...env },
          encoding: 'utf8',
        })
        assert.equal(
          build.status,
          0,
          `go build failed (is golang-github-rabbitmq-amqp091-go-dev installed?)\n${build.stderr}`,
        )
        const run = await runProcess(binary, [broker.url, '20'], { timeoutMs: 90_000 })
        const result = JSON.parse(run.stdout.trim()) as { tries: number; clean: number; failures: string[] }
        assert.deepEqual(result.failures, [], `failures: ${run.stdout}${run.stderr}`)
        assert.equal(result.clean, 20)
        assert.equal(run.code, 0)
      } finally {
        await rm(out, { recursive: true, force: true })
      }
    },
  )
})
