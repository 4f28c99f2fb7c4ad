// A real export of RabbitMQ 3.10 (test/fixtures/README.md says how it was made) imported at start: its
// users log in with their passwords (from RabbitMQ's hashes), its vhosts, permissions, topic permissions,
// limits, policies and entities are there, and all of it stays after a restart without the file.
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { after, describe, test } from 'node:test'
import amqp from 'amqplib'
import { startBroker, stopAllBrokers, type InProcessBroker } from '../../helpers/broker.js'
import { TEST_TIMEOUT, openChannel } from '../../helpers/amqplib.js'
import type { Broker } from '../../../src/broker/broker.js'

const FIXTURE = fileURLToPath(new URL('../../../../test/fixtures/rabbitmq-3.10-definitions.json', import.meta.url))

function assertImported(b: Broker): void {
  assert.deepEqual([...b.vhosts.keys()].sort(), ['/', 'lab', 'shop'])
  assert.deepEqual(b.vhosts.get('shop')!.metadata, { description: 'the shop', tags: ['prod', 'eu'] })
  assert.deepEqual(b.users.get('alice')?.tags, ['administrator', 'monitoring'])
  assert.equal(b.users.get('alice')?.hashingAlgorithm, 'rabbit_password_hashing_sha256')
  assert.deepEqual(b.users.get('bob')?.tags, [])
  assert.deepEqual(b.permissions.get('bob', 'shop'), {
    configure: '^bob-.*',
    write: '^orders$',
    read: '^(orders|bob-.*)$',
  })
  assert.deepEqual(b.permissions.get('alice', 'lab'), { configure: '.*', write: '.*', read: '.*' })
  assert.deepEqual(b.permissions.listTopic(), [
    { user: 'bob', vhost: 'shop', exchange: 'amq.topic', write: '^orders\\.', read: '^orders\\..*' },
  ])
  assert.deepEqual(b.limits.vhost('shop'), { 'max-connections': 10, 'max-queues': 20 })
  assert.deepEqual(b.limits.user('bob'), { 'max-channels': 5, 'max-connections': 2 })
  // ha-mode is RabbitMQ's mirroring, which Warren does not have: skipped with a warning, the rest kept
  assert.deepEqual(b.vhosts.get('shop')!.policies.get('ha-orders')?.def.definition, { 'message-ttl': 60000 })
  assert.deepEqual([...b.vhosts.get('shop')!.queues.keys()].sort(), ['orders', 'orders-dead'])
  assert.deepEqual([...b.vhosts.get('lab')!.queues.keys()], ['experiments'])
}

/** bob may write only to an exchange named 'orders' and read 'orders' and his own queues (the export's permissions) */
async function bobIsHeldToHisPermissions(port: number): Promise<void> {
  const conn = await amqp.connect(`amqp://bob:bob-secret@127.0.0.1:${port}/shop`)
  try {
    const reader = await openChannel(conn)
    assert.equal(await reader.get('orders', { noAck: true }), false, 'bob reads the queue orders')
    const writer = await openChannel(conn)
    writer.publish('amq.topic', 'orders.new', Buffer.from('from bob'))
    await assert.rejects(writer.get('orders'), /403 \(ACCESS-REFUSED\).*access to exchange 'amq.topic' in vhost 'shop'/)
  } finally {
    await conn.close()
  }
}

async function roundTripAs(port: number, user: string, pass: string): Promise<void> {
  const conn = await amqp.connect(`amqp://${user}:${pass}@127.0.0.1:${port}/shop`)
  const ch = await openChannel(conn)
  // amq.topic -> orders-x ('orders.*') -> orders ('orders.#'), as RabbitMQ's export binds them
  ch.publish('amq.topic', 'orders.new', Buffer.from(`from ${user}`))
  let got: amqp.GetMessage | false = false
  while (!got) got = await ch.get('orders', { noAck: true })
  assert.equal(got.content.toString(), `from ${user}`)
  await conn.close()
}

describe(
  "RabbitMQ 3.10's exported definitions",
  { skip: process.env['WARREN_TEST_URL'] ? 'imports into an in-process broker' : false },
  () => {
    after(stopAllBrokers)

    test(
      'are imported, and their users log in with their passwords, before and after a restart',
      TEST_TIMEOUT,
      async () => {
        let broker: InProcessBroker = await startBroker({ inProcess: true, definitionsFile: FIXTURE })
        assertImported(broker.broker)
        await roundTripAs(broker.port, 'alice', 'alice-secret')
        await bobIsHeldToHisPermissions(broker.port)
        await assert.rejects(
          amqp.connect(`amqp://bob:alice-secret@127.0.0.1:${broker.port}/shop`),
          /403|ACCESS_REFUSED/,
        )

        broker = await broker.restart({ definitionsFile: undefined })
        assertImported(broker.broker)
        await roundTripAs(broker.port, 'alice', 'alice-secret')
        await broker.stop()
      },
    )
  },
)
