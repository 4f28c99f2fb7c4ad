// Connection limits (issue #7, items 14 and 15): --max-connections refuses connections beyond the limit at
// accept, as RabbitMQ's connection_max does; --handshake-timeout drops clients that never open; a flood of
// half-open connections, and running out of file descriptors (in a child broker whose limit is lowered with
// prlimit: libuv then drops the connections it cannot accept, and everything else that needs a descriptor
// fails with EMFILE) neither crash the broker nor stop it from serving once the flood is over.
// Warren-only: they set Warren's own limits.
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import net from 'node:net'
import amqp from 'amqplib'
import { sleep } from '../helpers/amqplib.js'
import { startBroker, stopAllBrokers, type InProcessBroker, type StartOptions } from '../helpers/broker.js'
import { startBrokerProcess, stopAllBrokerProcesses } from '../helpers/broker-process.js'
import { AMQP_0_9_1_HEADER, RawClient } from '../helpers/raw-client.js'

const T = { timeout: 60_000 }
const start = (options: StartOptions): Promise<InProcessBroker> => startBroker({ ...options, inProcess: true })

after(async () => {
  await stopAllBrokers()
  await stopAllBrokerProcesses()
})

/** A durable queue, a persistent message confirmed, and that message read back. */
async function durablePublishWorks(url: string): Promise<void> {
  const conn = await amqp.connect(url)
  try {
    const ch = await conn.createConfirmChannel()
    const q = `limits-durable-${Date.now()}-${Math.random().toString(36).slice(2)}`
    await ch.assertQueue(q, { durable: true })
    ch.sendToQueue(q, Buffer.from('kept'), { persistent: true })
    await ch.waitForConfirms()
    const msg = await ch.get(q, { noAck: true })
    assert.ok(msg && msg.content.toString() === 'kept')
    await ch.deleteQueue(q)
  } finally {
    await conn.close()
  }
}

/** Opens `n` TCP connections that send nothing; resolves with those that connected. */
async function openIdleSockets(port: number, n: number): Promise<net.Socket[]> {
  const sockets = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Socket | undefined>((resolve) => {
          const s = net.connect(port, '127.0.0.1')
          s.on('error', () => resolve(undefined))
          s.once('connect', () => resolve(s))
        }),
    ),
  )
  return sockets.filter((s): s is net.Socket => s !== undefined)
}

function closedWithin(socket: net.Socket, ms: number): Promise<boolean> {
  if (socket.destroyed || socket.readableEnded) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms)
    socket.once('close', () => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}

describe('--max-connections', () => {
  test('beyond the limit a connection is closed at once, with nothing sent; under it again, accepted', T, async () => {
    const server = await start({ maxConnections: 3 })
    const url = server.url
    const held = await Promise.all([1, 2, 3].map(() => RawClient.open(server.port)))
    const refused = await RawClient.connect(server.port)
    refused.write(AMQP_0_9_1_HEADER)
    assert.ok(await refused.waitSocketClosed(3000), 'the fourth connection is closed')
    assert.equal(refused.receivedBytes.length, 0, 'not even connection.start')
    await assert.rejects(amqp.connect(url))
    await held[0]!.close()
    await sleep(50)
    await durablePublishWorks(url)
    for (const c of held.slice(1)) await c.close()
  })
})

describe('--handshake-timeout', () => {
  test('a client that connects and never opens is dropped when the timeout passes', T, async () => {
    const server = await start({ handshakeTimeout: 300 })
    const [silent] = await openIdleSockets(server.port, 1)
    const halfway = await RawClient.connect(server.port)
    halfway.write(AMQP_0_9_1_HEADER)
    await halfway.expect('connection.start')
    assert.ok(await closedWithin(silent!, 3000), 'a silent client is dropped')
    assert.ok(await halfway.waitSocketClosed(3000), 'a client stuck after connection.start is dropped')
  })

  test('a flood of half-open connections under a low limit: once it ends, clients connect again', T, async () => {
    const server = await start({ maxConnections: 20, handshakeTimeout: 500 })
    const url = server.url
    const flood = await openIdleSockets(server.port, 200)
    // Every flood connection is dropped: over the limit at once, the others at the handshake timeout
    const closed = await Promise.all(flood.map((s) => closedWithin(s, 5000)))
    assert.equal(closed.filter((c) => !c).length, 0, 'flood connections still open')
    // The server sees each close a moment after the client does
    for (let i = 0; i < 100 && server.connections.size > 0; i++) await sleep(20)
    assert.equal(server.connections.size, 0)
    await durablePublishWorks(url)
  })
})

const prlimit = spawnSync('prlimit', ['--version']).error === undefined

describe('running out of file descriptors', () => {
  test(
    'EMFILE on accept: the broker keeps running, does not spin, and serves again once descriptors are free',
    { timeout: 60_000, skip: prlimit ? false : 'prlimit (util-linux) is not installed' },
    async () => {
      const broker = await startBrokerProcess({ args: ['--handshake-timeout', '4000'] })
      await durablePublishWorks(broker.url)
      // Leave the broker a few descriptors more than it uses now, then take them all and more
      const inUse = readdirSync(`/proc/${broker.pid}/fd`).length
      const limit = inUse + 24
      const set = spawnSync('prlimit', [`--pid=${broker.pid}`, `--nofile=${limit}:${limit}`], { encoding: 'utf8' })
      assert.equal(set.status, 0, `prlimit failed: ${set.stderr}`)
      const flood = await openIdleSockets(broker.port, 100)
      await sleep(300)
      // Out of descriptors for two seconds: the memory alarm's timer, among others, meets EMFILE
      const cpuBefore = cpuSeconds(broker.pid)
      await sleep(2000)
      assert.ok(existsSync(`/proc/${broker.pid}`), `the broker died out of descriptors:\n${broker.stderr()}`)
      const cpu = cpuSeconds(broker.pid) - cpuBefore
      assert.ok(cpu < 1.4, `the broker used ${cpu.toFixed(2)} s of CPU in 2 s while out of descriptors (spinning?)`)
      const accepted = readdirSync(`/proc/${broker.pid}/fd`).length
      assert.ok(accepted >= limit - 1, `the descriptors ran out (${accepted} of ${limit})`)
      for (const s of flood) s.destroy()
      // The broker lives on, and serves again: the limit stays low, the flood is gone
      await sleep(500)
      await durablePublishWorks(broker.url)
      assert.equal(broker.stderr(), '', 'nothing on stderr')
      const exit = await broker.stop()
      assert.equal(exit.code, 0)
    },
  )
})

/** User + system CPU time of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  // utime and stime are fields 14 and 15 of stat; fields[0] here is field 3
  return (Number(fields[11]) + Number(fields[12])) / 100
}
