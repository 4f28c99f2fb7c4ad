// Durable definitions survive a restart of the broker; transient ones do not, as in RabbitMQ.
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import amqp from 'amqplib'
import { startBroker, type InProcessBroker } from '../../helpers/broker.js'
import { TEST_TIMEOUT, expectChannelError, openChannel, sleep, withTimeout } from '../../helpers/amqplib.js'

describe(
  'durable definitions across a restart',
  { skip: process.env['WARREN_TEST_URL'] ? 'restarts an in-process broker' : false },
  () => {
    // One data directory for both tests: the second restarts the broker of the first
    let broker: InProcessBroker

    after(async () => {
      await broker?.stop()
    })

    test(
      'durable exchanges, queues, bindings and policies come back; transient ones are gone',
      TEST_TIMEOUT,
      async () => {
        broker = await startBroker({ inProcess: true })
        let conn = await amqp.connect(broker.url)
        let ch = await openChannel(conn)
        await ch.assertExchange('d.topic', 'topic', { durable: true })
        await ch.assertExchange('d.fanout', 'fanout', { durable: true, arguments: { 'alternate-exchange': 'd.topic' } })
        await ch.assertExchange('t.direct', 'direct', { durable: false })
        await ch.assertQueue('d.queue', { durable: true, arguments: { 'x-max-length': 10, 'x-message-ttl': 60000 } })
        await ch.assertQueue('t.queue', { durable: false })
        await ch.assertQueue('d.removed', { durable: true })
        await ch.deleteQueue('d.removed')
        await ch.bindQueue('d.queue', 'd.topic', 'a.#')
        await ch.bindExchange('d.topic', 'amq.direct', 'a.e2e')
        await ch.bindQueue('t.queue', 'd.topic', 'b.*') // a binding to a transient queue is transient
        await ch.bindQueue('d.queue', 't.direct', 'x') // and so is one from a transient exchange
        await conn.close()
        await broker.stop({ keepDataDir: true })

        broker = await broker.restart()
        conn = await amqp.connect(broker.url)
        ch = await openChannel(conn)
        await ch.checkExchange('d.topic')
        await ch.checkExchange('d.fanout')
        const q = await ch.checkQueue('d.queue')
        assert.equal(q.queue, 'd.queue')
        // Same arguments: accepted; a different one: 406, so the arguments came back exactly
        await ch.assertQueue('d.queue', { durable: true, arguments: { 'x-max-length': 10, 'x-message-ttl': 60000 } })
        await expectChannelError(ch, ch.checkQueue('t.queue'), {
          code: 404,
          text: "NOT_FOUND - no queue 't.queue' in vhost '/'",
        })
        ch = await openChannel(conn)
        await expectChannelError(ch, ch.checkExchange('t.direct'), {
          code: 404,
          text: "NOT_FOUND - no exchange 't.direct' in vhost '/'",
        })
        ch = await openChannel(conn)
        await expectChannelError(ch, ch.checkQueue('d.removed'), {
          code: 404,
          text: "NOT_FOUND - no queue 'd.removed' in vhost '/'",
        })
        ch = await openChannel(conn)
        // The bindings route: directly, through amq.direct → d.topic, and through d.fanout's alternate exchange
        ch.publish('d.topic', 'a.b', Buffer.from('direct'))
        ch.publish('amq.direct', 'a.e2e', Buffer.from('e2e'))
        ch.publish('d.fanout', 'a.ae', Buffer.from('alternate'))
        await withTimeout(
          (async () => {
            for (;;) {
              if ((await ch.checkQueue('d.queue')).messageCount === 3) return
              await sleep(20)
            }
          })(),
          5000,
          'three routed messages',
        )
        await conn.close()
      },
    )

    test('a definitions file is imported at start, and what it declares is stored', TEST_TIMEOUT, async () => {
      await broker.stop({ keepDataDir: true })
      const file = join(broker.dataDir, 'import.json')
      await writeFile(
        file,
        JSON.stringify({
          exchanges: [
            {
              name: 'imp.x',
              vhost: '/',
              type: 'direct',
              durable: true,
              auto_delete: false,
              internal: false,
              arguments: {},
            },
          ],
          queues: [{ name: 'imp.q', vhost: '/', durable: true, auto_delete: false, arguments: {} }],
          bindings: [
            {
              source: 'imp.x',
              vhost: '/',
              destination: 'imp.q',
              destination_type: 'queue',
              routing_key: 'k',
              arguments: {},
            },
          ],
          policies: [
            {
              vhost: '/',
              name: 'limit',
              pattern: '^imp\\.',
              'apply-to': 'queues',
              definition: { 'max-length': 1 },
              priority: 0,
            },
          ],
        }),
      )
      broker = await broker.restart({ definitionsFile: file })
      try {
        const conn = await amqp.connect(broker.url)
        const ch = await openChannel(conn)
        // The policy's max-length 1 applies to imp.q: three publishes leave one message
        for (const body of ['1', '2', '3']) ch.publish('imp.x', 'k', Buffer.from(body))
        let count = -1
        for (let i = 0; i < 100 && count !== 1; i++) {
          count = (await ch.checkQueue('imp.q')).messageCount
          if (count !== 1) await sleep(20)
        }
        assert.equal(count, 1)
        const m = await ch.get('imp.q', { noAck: true })
        assert.ok(m)
        assert.equal(m.content.toString(), '3', 'max-length drops from the head')
        await conn.close()
      } finally {
        await broker.stop({ keepDataDir: true })
      }
      // Without the file, the imported definitions are still there
      broker = await broker.restart({ definitionsFile: undefined })
      const conn = await amqp.connect(broker.url)
      const ch = await openChannel(conn)
      await ch.checkExchange('imp.x')
      await ch.checkQueue('imp.q')
      await conn.close()
    })
  },
)
