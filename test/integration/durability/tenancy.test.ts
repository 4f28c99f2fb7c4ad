// Vhosts, users, permissions and limits changed at run time through the broker's operations: what RabbitMQ
// does when a vhost or user is deleted or a limit is reached, and that all of it survives a restart. The
// limit texts and the vhost deletion's 320 are also judged by a private RabbitMQ node in every CI run
// (../permissions.test.ts, which runs the same tests on both brokers).
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { startBroker, stopAllBrokers, type InProcessBroker } from '../../helpers/broker.js'
import { TEST_TIMEOUT } from '../../helpers/amqplib.js'
import { RawClient, describe as describeMethod, plainResponse } from '../../helpers/raw-client.js'

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex')
const FULL = { configure: '.*', write: '.*', read: '.*' }

async function refusedOpen(port: number, vhost: string, user = 'guest', pass = 'guest'): Promise<string> {
  const client = await RawClient.connect(port)
  const m = await client.handshake({ vhost, response: plainResponse(user, pass) })
  client.destroy()
  return describeMethod(m)
}

describe(
  'vhosts, users and limits at run time',
  { skip: process.env['WARREN_TEST_URL'] ? 'in-process' : false },
  () => {
    after(stopAllBrokers)

    test(
      'deleting a vhost closes its connections with 320 and removes its queues and their files',
      TEST_TIMEOUT,
      async () => {
        let broker: InProcessBroker = await startBroker({ inProcess: true })
        broker.broker.createVhost('shop', { description: 'the shop', tags: ['prod'] })
        broker.broker.setPermission('guest', 'shop', FULL)
        const client = await RawClient.open(broker.port, '127.0.0.1', { vhost: 'shop' })
        await client.openChannel(1)
        client.send(1, {
          name: 'queue.declare',
          queue: 'orders',
          passive: false,
          durable: true,
          exclusive: false,
          autoDelete: false,
          noWait: false,
          arguments: {},
        })
        await client.expect('queue.declare-ok')
        client.publish(1, '', 'orders', Buffer.from('kept until the vhost goes'), { deliveryMode: 2 })
        const queueDir = join(broker.dataDir, 'vhosts', sha1('shop'), 'queues', sha1('orders'))
        assert.ok(existsSync(queueDir))
        const other = await RawClient.open(broker.port, '127.0.0.1', { vhost: '/' })

        assert.equal(await broker.broker.deleteVhost('shop'), true)
        const { close } = await client.waitForClose()
        assert.equal(
          close && describeMethod(close),
          "connection.close 320 'CONNECTION_FORCED - vhost 'shop' is deleted' (0, 0)",
        )
        assert.equal(existsSync(queueDir), false)
        assert.equal(broker.broker.permissions.get('guest', 'shop'), undefined)
        assert.equal(other.isClosed, false, 'a connection to another vhost stays open')
        other.destroy()
        assert.equal(
          await refusedOpen(broker.port, 'shop'),
          "connection.close 530 'NOT_ALLOWED - vhost shop not found' (10, 40)",
        )

        broker = await broker.restart()
        assert.equal(broker.broker.vhosts.has('shop'), false)
        assert.equal(
          await refusedOpen(broker.port, 'shop'),
          "connection.close 530 'NOT_ALLOWED - vhost shop not found' (10, 40)",
        )
        await broker.stop()
      },
    )

    test('vhost and user limits are refused with RabbitMQ texts', TEST_TIMEOUT, async () => {
      const broker = await startBroker({ inProcess: true })
      const b = broker.broker
      b.createVhost('probe')
      b.putUser('carol', { password: 'carol-pw' })
      b.setPermission('guest', 'probe', FULL)
      b.setPermission('carol', 'probe', FULL)
      b.setVhostLimits('probe', { 'max-connections': 1, 'max-queues': 1 })
      const first = await RawClient.open(broker.port, '127.0.0.1', { vhost: 'probe' })
      assert.equal(
        await refusedOpen(broker.port, 'probe'),
        "connection.close 530 'NOT_ALLOWED - access to vhost 'probe' refused for user 'guest': connection limit (1) is reached' (10, 40)",
      )
      await first.openChannel(1)
      const declare = (queue: string) =>
        first.send(1, {
          name: 'queue.declare',
          queue,
          passive: false,
          durable: false,
          exclusive: false,
          autoDelete: false,
          noWait: false,
          arguments: {},
        })
      declare('q1')
      await first.expect('queue.declare-ok')
      declare('q1') // an existing queue is not a new one
      await first.expect('queue.declare-ok')
      declare('q2')
      const refused = await first.expect('channel.close')
      assert.equal(refused.replyCode, 406)
      assert.equal(
        refused.replyText,
        "PRECONDITION_FAILED - cannot declare queue 'q2': queue limit in vhost 'probe' (1) is reached",
      )
      first.destroy()

      b.setVhostLimits('probe', {})
      b.setUserLimits('carol', { 'max-connections': 1, 'max-channels': 1 })
      const carol = { vhost: 'probe', response: plainResponse('carol', 'carol-pw') }
      const k = await RawClient.open(broker.port, '127.0.0.1', carol)
      assert.equal(
        await refusedOpen(broker.port, 'probe', 'carol', 'carol-pw'),
        "connection.close 530 'NOT_ALLOWED - connection refused for user 'carol': user connection limit (1) is reached' (10, 40)",
      )
      await k.openChannel(1)
      k.send(2, { name: 'channel.open', outOfBand: '' })
      assert.equal(
        describeMethod(await k.nextMethod()),
        "connection.close 530 'NOT_ALLOWED - number of channels opened for user 'carol' has reached the maximum allowed user limit of (1)' (0, 0)",
      )
      k.destroy()

      b.setUserLimits('carol', {})
      const k2 = await RawClient.open(broker.port, '127.0.0.1', carol)
      assert.equal(b.deleteUser('carol'), true)
      const { close } = await k2.waitForClose()
      assert.equal(
        close && describeMethod(close),
        "connection.close 320 'CONNECTION_FORCED - user 'carol' is deleted' (0, 0)",
      )
      await broker.stop()
    })

    test('vhosts, users, permissions and limits survive a restart', TEST_TIMEOUT, async () => {
      let broker: InProcessBroker = await startBroker({ inProcess: true, defaultVhost: 'home' })
      assert.deepEqual([...broker.broker.vhosts.keys()], ['home'])
      assert.deepEqual(broker.broker.permissions.get('guest', 'home'), FULL)
      let b = broker.broker
      b.createVhost('shop', { description: 'the shop', tags: ['prod', 'eu'] })
      b.createVhost('gone')
      b.putUser('dave', { password: 'dave-pw', tags: ['monitoring'] })
      b.putUser('erin', { password: 'erin-pw' })
      b.setPermission('dave', 'shop', { configure: '^dave-', write: '.*', read: '.*' })
      b.setPermission('erin', 'shop', FULL)
      b.clearPermission('erin', 'shop')
      b.setTopicPermission('dave', 'shop', { exchange: 'amq.topic', write: '^a\\.', read: '.*' })
      b.setVhostLimits('shop', { 'max-queues': 5 })
      b.setUserLimits('dave', { 'max-channels': 3 })
      b.deleteUser('erin')
      await b.deleteVhost('gone')

      // Twice: the second start reads the log the first one compacted
      for (let i = 0; i < 2; i++) {
        broker = await broker.restart()
        b = broker.broker
        assert.deepEqual([...b.vhosts.keys()].sort(), ['home', 'shop'])
        assert.deepEqual(b.vhosts.get('shop')!.metadata, { description: 'the shop', tags: ['prod', 'eu'] })
        assert.deepEqual(b.users.get('dave')?.tags, ['monitoring'])
        assert.equal(b.users.get('erin'), undefined)
        assert.deepEqual(b.permissions.get('dave', 'shop'), { configure: '^dave-', write: '.*', read: '.*' })
        assert.equal(b.permissions.get('erin', 'shop'), undefined)
        assert.deepEqual(b.permissions.listTopic(), [
          { user: 'dave', vhost: 'shop', exchange: 'amq.topic', write: '^a\\.', read: '.*' },
        ])
        assert.deepEqual(b.limits.vhost('shop'), { 'max-queues': 5 })
        assert.deepEqual(b.limits.user('dave'), { 'max-channels': 3 })
        // dave logs in with his password, restored from its hash
        const dave = await RawClient.open(broker.port, '127.0.0.1', {
          vhost: 'shop',
          response: plainResponse('dave', 'dave-pw'),
        })
        dave.destroy()
      }
      await broker.stop()
    })
  },
)
