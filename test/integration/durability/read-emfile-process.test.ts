// A real descriptor limit, not an injected one: a broker process whose RLIMIT_NOFILE is lowered (prlimit)
// until it cannot open a file. The recovered segment of a durable queue cannot be opened for reading
// (EMFILE): its messages wait at the head, and are delivered in order once the limit is raised again.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { after, test } from 'node:test'
import amqp from 'amqplib'
import { sleep } from '../../helpers/amqplib.js'
import { startBrokerProcess, stopAllBrokerProcesses } from '../../helpers/broker-process.js'

after(stopAllBrokerProcesses)

function prlimitAvailable(): boolean {
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'ignore' })
    return process.platform === 'linux'
  } catch {
    return false
  }
}

const SKIP = process.env['WARREN_TEST_URL']
  ? 'limits the descriptors of a Warren process'
  : prlimitAvailable()
    ? false
    : 'prlimit (util-linux) is not available'

/** The lowest descriptor number the process does not use: the one its next open would get. */
function lowestFreeDescriptor(pid: number): number {
  const used = new Set(readdirSync(`/proc/${pid}/fd`).map(Number))
  let fd = 0
  while (used.has(fd)) fd++
  return fd
}

const setSoftNofile = (pid: number, limit: number) =>
  execFileSync('prlimit', ['--pid', String(pid), `--nofile=${limit}:`])

test(
  'EMFILE under a real descriptor limit: paged-out messages are delivered in order once it is raised',
  {
    timeout: 30_000,
    skip: SKIP,
  },
  async () => {
    let broker = await startBrokerProcess({ args: ['--message-memory-budget', '0'] })
    const bodies = Array.from({ length: 6 }, (_, i) => `m${i}`)
    {
      const conn = await amqp.connect(broker.url)
      const ch = await conn.createConfirmChannel()
      await ch.assertQueue('limited-fds', { durable: true })
      for (const body of bodies) ch.sendToQueue('limited-fds', Buffer.from(body), { persistent: true })
      await ch.waitForConfirms()
      await conn.close()
    }
    await broker.stop()
    // After a restart the messages are recovered paged out, and their segment is not open
    broker = await broker.restart()
    const conn = await amqp.connect(broker.url)
    const ch = await conn.createChannel()
    await ch.prefetch(10)

    setSoftNofile(broker.pid, lowestFreeDescriptor(broker.pid))
    const got: string[] = []
    await ch.consume('limited-fds', (m) => {
      got.push(m!.content.toString())
      ch.ack(m!)
    })
    const failing = () => broker.logs().some((l) => l.msg === 'cannot read a paged-out message now; it waits, retrying')
    for (let i = 0; i < 500 && !failing(); i++) await sleep(10)
    if (!failing()) console.error(JSON.stringify(broker.logs().slice(-15), null, 1), got)
    assert.ok(failing(), 'the read failed with EMFILE and waits')
    await sleep(200)
    assert.deepEqual(got, [], 'nothing delivered while no descriptor is free')

    setSoftNofile(broker.pid, 1024)
    for (let i = 0; i < 1000 && got.length < bodies.length; i++) await sleep(10)
    assert.deepEqual(got, bodies, 'every message, in order, without a restart')
    assert.ok(
      broker.logs().some((l) => l.msg === 'paged-out messages read again'),
      'the broker says reads work again',
    )
    await conn.close()
    await broker.stop()
  },
)
