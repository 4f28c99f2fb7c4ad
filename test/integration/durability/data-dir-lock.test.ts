// Two brokers on one data directory: the second refuses before touching any file, naming the directory
// and the running process; a lock left by a broker killed with SIGKILL does not prevent the restart.
import assert from 'node:assert/strict'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import amqp from 'amqplib'
import { startBrokerProcess, stopAllBrokerProcesses } from '../../helpers/broker-process.js'
import { TEST_TIMEOUT, openChannel } from '../../helpers/amqplib.js'

async function declareDurable(url: string, queue: string): Promise<void> {
  const conn = await amqp.connect(url)
  const ch = await openChannel(conn)
  await ch.assertQueue(queue, { durable: true })
  await conn.close()
}

async function queueExists(url: string, queue: string): Promise<boolean> {
  const conn = await amqp.connect(url)
  try {
    const ch = await openChannel(conn)
    ch.on('error', () => {})
    return await ch.checkQueue(queue).then(
      () => true,
      () => false,
    )
  } finally {
    await conn.close().catch(() => {})
  }
}

/** Name, inode, size and mtime of every file in the directory (not recursive). */
async function snapshot(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).sort()
  return Promise.all(
    names.map(async (name) => {
      const info = await stat(join(dir, name))
      return `${name} ${info.ino} ${info.size} ${info.mtimeMs}`
    }),
  )
}

describe('data directory lock', { skip: process.env['WARREN_TEST_URL'] ? 'starts Warren processes' : false }, () => {
  after(stopAllBrokerProcesses)

  test(
    'a second broker on a data directory in use exits before touching a file, naming the directory and pid',
    TEST_TIMEOUT,
    async () => {
      const first = await startBrokerProcess()
      await declareDurable(first.url, 'declared.before')
      const before = await snapshot(first.dataDir)

      await assert.rejects(startBrokerProcess({ dataDir: first.dataDir }), (error: Error) => {
        assert.match(error.message, /exited \(code [1-9]\d*, signal null\) before listening/)
        const stderr = error.message.slice(error.message.indexOf('stderr:'))
        assert.ok(stderr.includes(first.dataDir), stderr)
        assert.ok(stderr.includes(`pid ${first.pid}`), stderr)
        return true
      })
      assert.deepEqual(await snapshot(first.dataDir), before, 'the second broker changed nothing')

      // The running broker's later declarations survive its restart
      await declareDurable(first.url, 'declared.after')
      assert.equal((await first.stop()).code, 0)
      const restarted = await first.restart()
      assert.ok(await queueExists(restarted.url, 'declared.before'))
      assert.ok(await queueExists(restarted.url, 'declared.after'))
      await restarted.stop()
    },
  )

  test('the lock of a broker killed with SIGKILL does not prevent the restart', TEST_TIMEOUT, async () => {
    const first = await startBrokerProcess()
    await declareDurable(first.url, 'survivor')
    const lock = await readFile(join(first.dataDir, 'warren.lock'), 'utf8')
    assert.equal(JSON.parse(lock).pid, first.pid)
    await first.crash()
    const restarted = await first.restart()
    assert.ok(await queueExists(restarted.url, 'survivor'))
    assert.ok(restarted.logs().some((line) => line.msg?.includes('taking it over')))
    // A clean stop removes the lock
    assert.equal((await restarted.stop()).code, 0)
    assert.ok(!(await readdir(restarted.dataDir)).includes('warren.lock'))
  })
})
