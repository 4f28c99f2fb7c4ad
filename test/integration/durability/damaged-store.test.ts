// Damaged files on disk cost only what they hit, and never silently: a flipped bit in a segment loses that
// one message (the others after it come back), and a queue whose line of definitions.log is damaged keeps
// its messages, moved aside to <dataDir>/quarantine with a warning, instead of having them deleted.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { appendFile, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { after, describe, test } from 'node:test'
import amqp from 'amqplib'
import { startBrokerProcess, stopAllBrokerProcesses, type BrokerProcess } from '../../helpers/broker-process.js'
import { TEST_TIMEOUT, openChannel, openConfirmChannel } from '../../helpers/amqplib.js'

const sha1 = (text: string) => createHash('sha1').update(text, 'utf8').digest('hex')
const queueDir = (dataDir: string, queue: string) => join(dataDir, 'vhosts', sha1('/'), 'queues', sha1(queue))

async function publish(broker: BrokerProcess, queue: string, bodies: string[]): Promise<void> {
  const conn = await amqp.connect(broker.url)
  const ch = await openConfirmChannel(conn)
  await ch.assertQueue(queue, { durable: true })
  for (const body of bodies) ch.sendToQueue(queue, Buffer.from(body), { persistent: true })
  await ch.waitForConfirms()
  await conn.close()
}

async function drain(broker: BrokerProcess, queue: string): Promise<string[]> {
  const conn = await amqp.connect(broker.url)
  const ch = await openChannel(conn)
  const bodies: string[] = []
  for (;;) {
    const message = await ch.get(queue, { noAck: true })
    if (message === false) break
    bodies.push(message.content.toString())
  }
  await conn.close()
  return bodies
}

async function queueExists(broker: BrokerProcess, queue: string): Promise<boolean> {
  const conn = await amqp.connect(broker.url)
  const ch = await openChannel(conn)
  ch.on('error', () => {})
  const exists = await ch.checkQueue(queue).then(
    () => true,
    () => false,
  )
  await conn.close().catch(() => {})
  return exists
}

describe(
  'damaged files in the data directory',
  { skip: process.env['WARREN_TEST_URL'] ? 'Warren only' : false },
  () => {
    after(stopAllBrokerProcesses)

    test(
      'a flipped bit in a segment loses that message only; the broker says which file and offset',
      TEST_TIMEOUT,
      async () => {
        const broker = await startBrokerProcess()
        const bodies = Array.from({ length: 6 }, (_, i) => `message number ${i} `.repeat(4))
        await publish(broker, 'flipped', bodies)
        assert.equal((await broker.stop()).code, 0)

        const segment = join(queueDir(broker.dataDir, 'flipped'), 'msgs.0000000001')
        const bytes = await readFile(segment)
        const at = bytes.indexOf('message number 2')
        bytes[at + 3]! ^= 0x01
        await writeFile(segment, bytes)

        const restarted = await broker.restart()
        assert.deepEqual(await drain(restarted, 'flipped'), [...bodies.slice(0, 2), ...bodies.slice(3)])
        const warning = restarted.logs().find((line) => line.level === 'warn' && line.file === segment)
        assert.ok(warning, restarted.stdoutLines.join('\n'))
        assert.equal(typeof warning.offset, 'number')
        await restarted.stop()
      },
    )

    test(
      'a queue whose definition line is damaged is quarantined with its messages, not deleted',
      TEST_TIMEOUT,
      async () => {
        const broker = await startBrokerProcess()
        await publish(broker, 'bystander', ['b1'])
        await publish(broker, 'victim', ['v1', 'v2', 'v3'])
        assert.equal((await broker.stop()).code, 0)

        const definitions = join(broker.dataDir, 'definitions.log')
        const text = await readFile(definitions)
        const at = text.indexOf('"name":"victim"')
        assert.ok(at > 0)
        text[at + 9]! ^= 0x20 // victim → vIctim: the line's checksum no longer matches
        await writeFile(definitions, text)

        const restarted = await broker.restart()
        // The broker runs, with what it could read
        assert.deepEqual(await drain(restarted, 'bystander'), ['b1'])
        assert.equal(await queueExists(restarted, 'victim'), false)
        const warning = restarted.logs().find((line) => line.level === 'warn' && line.queue === 'victim')
        assert.ok(warning, restarted.stdoutLines.join('\n'))
        assert.equal(warning.vhost, '/')
        assert.equal(warning.messages, 3)
        const kept = String(warning.movedTo)
        assert.ok(kept.startsWith(join(broker.dataDir, 'quarantine')), kept)
        const files = await readdir(kept)
        assert.ok(files.includes('name') && files.includes('msgs.0000000001'), files.join(' '))

        // Declaring the queue again starts it empty and leaves the quarantined messages where they are
        await publish(restarted, 'victim', ['new'])
        assert.equal((await restarted.stop()).code, 0)
        const again = await restarted.restart()
        assert.deepEqual(await drain(again, 'victim'), ['new'])
        assert.ok((await readdir(kept)).includes('msgs.0000000001'))
        assert.ok(!again.logs().some((line) => line.level === 'warn' && line.queue === 'victim'))

        // Putting the quarantined directory in place of the new queue's brings the messages back
        assert.equal((await again.stop()).code, 0)
        await rm(queueDir(broker.dataDir, 'victim'), { recursive: true })
        await rename(kept, queueDir(broker.dataDir, 'victim'))
        const restored = await again.restart()
        assert.deepEqual(await drain(restored, 'victim'), ['v1', 'v2', 'v3'])
        await restored.stop()
      },
    )

    test(
      'a store whose deletion the log records is removed (a crash before its directory went), unless the log is damaged',
      TEST_TIMEOUT,
      async () => {
        const broker = await startBrokerProcess()
        await publish(broker, 'deleted', ['d1'])
        await publish(broker, 'other', ['o1'])
        assert.equal((await broker.stop()).code, 0)
        // As if the broker had recorded the deletion and crashed before removing the directory
        const line = (change: object) => {
          const json = JSON.stringify(change)
          return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`
        }
        const definitions = join(broker.dataDir, 'definitions.log')
        await appendFile(definitions, line({ op: 'queue.remove', vhost: '/', name: 'deleted' }))
        let restarted = await broker.restart()
        assert.equal(await queueExists(restarted, 'deleted'), false)
        assert.ok(!(await readdir(broker.dataDir)).includes('quarantine'))
        assert.ok(!(await readdir(join(broker.dataDir, 'vhosts', sha1('/'), 'queues'))).includes(sha1('deleted')))

        // The same with a damaged line in the log: the store is kept aside instead
        await publish(restarted, 'deleted', ['d2'])
        assert.equal((await restarted.stop()).code, 0)
        await appendFile(definitions, line({ op: 'queue.remove', vhost: '/', name: 'deleted' }))
        await appendFile(
          definitions,
          'deadbeef {"op":"queue.add","damaged":true}\n' + line({ op: 'exchange.remove', vhost: '/', name: 'x' }),
        )
        restarted = await restarted.restart()
        assert.equal(await queueExists(restarted, 'deleted'), false)
        assert.deepEqual(await drain(restarted, 'other'), ['o1'])
        const warning = restarted.logs().find((l) => l.level === 'warn' && l.queue === 'deleted')
        assert.ok(warning, restarted.stdoutLines.join('\n'))
        assert.equal(warning.messages, 1)
        await restarted.stop()
      },
    )
  },
)
