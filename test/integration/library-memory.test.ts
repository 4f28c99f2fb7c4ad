// Without a dataDir the library's broker writes no file at all (issue 9): durable exchanges, queues and
// bindings and persistent messages live in memory. The broker runs in a child process whose working
// directory, HOME and TMPDIR are empty temporary folders; after a full workload they must still be empty.
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { connect, openChannel, openConfirmChannel, whenChannelClosed } from '../helpers/amqplib.js'
import { spawnProcess } from '../helpers/spawn-wait.js'

const library = pathToFileURL(join(import.meta.dirname, '..', '..', 'src', 'index.js')).href
const dirs: string[] = []
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))))

// messageMemoryBudget 0: with a data directory every persistent message would be paged out to disk at once
const CHILD = `
import { startBroker } from ${JSON.stringify(library)}
const broker = await startBroker({ port: 0, host: '127.0.0.1', logLevel: 'info', messageMemoryBudget: 0 })
console.log('URL ' + broker.url)
process.on('SIGTERM', () => broker.close().then(() => process.exit(0)))
`

test(
  'an in-memory broker keeps durable state and persistent messages, and writes no file',
  { timeout: 60_000 },
  async () => {
    const [cwd, home, tmp] = await Promise.all(
      ['cwd', 'home', 'tmp'].map((n) => mkdtemp(join(tmpdir(), `warren-${n}-`))),
    )
    dirs.push(cwd!, home!, tmp!)
    const child = spawnProcess(process.execPath, ['--input-type=module', '-e', CHILD], {
      cwd: cwd!,
      env: { HOME: home!, TMPDIR: tmp! },
    })
    try {
      const url = (await child.waitForLine(/^URL /)).slice('URL '.length)

      const conn = await connect(url)
      const ch = await openConfirmChannel(conn)
      await ch.assertExchange('mem.durable', 'topic', { durable: true })
      await ch.assertQueue('mem.q', { durable: true, arguments: { 'x-queue-type': 'classic' } })
      await ch.bindQueue('mem.q', 'mem.durable', 'jobs.#')
      const bodies = Array.from({ length: 200 }, (_, i) => `job ${i} ${'x'.repeat(i * 10)}`)
      for (const body of bodies) ch.publish('mem.durable', 'jobs.new', Buffer.from(body), { persistent: true })
      await ch.waitForConfirms()
      await conn.close()

      // The queue and its messages outlive the connection that made them
      const again = await connect(url)
      const consumer = await openChannel(again)
      const received: string[] = []
      const all = new Promise<void>((resolve) => {
        void consumer.consume('mem.q', (msg) => {
          if (!msg) return
          received.push(msg.content.toString())
          consumer.ack(msg)
          if (received.length === bodies.length) resolve()
        })
      })
      await all
      assert.deepEqual(received, bodies)
      // One left behind at shutdown: a broker with a data directory would record it there
      const last = await openConfirmChannel(again)
      last.sendToQueue('mem.q', Buffer.from('left'), { persistent: true })
      await last.waitForConfirms()
      // A durable queue deleted, for the delete path
      await last.assertQueue('mem.gone', { durable: true })
      await last.deleteQueue('mem.gone')
      await again.close()
      assert.equal(await whenChannelClosed(consumer), undefined)

      child.child.kill('SIGTERM')
      const exit = await child.exited()
      assert.equal(exit.code, 0, exit.stderr)
      assert.match(exit.stdout, /Warren is listening/)
    } finally {
      child.kill()
    }
    for (const dir of [cwd!, home!, tmp!]) assert.deepEqual(await readdir(dir, { recursive: true }), [], dir)
  },
)
