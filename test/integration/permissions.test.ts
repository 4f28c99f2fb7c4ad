// The permission matrix: every AMQP operation RabbitMQ checks, allowed and refused, with RabbitMQ's reply
// code and text. The users and permissions are permissions-fixture.ts's, given to Warren's model through
// startBroker's setup and to RabbitMQ as a definitions file loaded at boot.
//
// Checked against RabbitMQ 3.10 (see /work/wt/notes/auth.md): a node started with
//   load_definitions = <permissionFixtureDefinitions() written as JSON>   (in rabbitmq.conf)
// then WARREN_TEST_URL=amqp://guest:guest@127.0.0.1:PORT/ node --test dist/test/integration/permissions.test.js
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import type { Channel, ChannelModel } from 'amqplib'
import { startBroker, type TestBroker } from '../helpers/broker.js'
import {
  connect,
  expectChannelError,
  openChannel,
  rawHandshake,
  replyText,
  roundTrip,
  TEST_TIMEOUT,
} from '../helpers/amqplib.js'
import { applyPermissionFixture } from './permissions-fixture.js'
import { runPython } from '../helpers/python.js'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

// test/integration/pika/permissions.py, from dist/test/integration or test/integration alike
const PIKA_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '../../../test/integration/pika/permissions.py')

const T = TEST_TIMEOUT
const ACCESS_REFUSED = 403
const refused = (what: string, user = 'alice') => ({
  code: ACCESS_REFUSED,
  text: `ACCESS_REFUSED - ${what} in vhost '/' refused for user '${user}'`,
})

describe('permissions: configure, write, read and topic permissions as RabbitMQ checks them', () => {
  let broker: TestBroker
  let guest: ChannelModel
  let setupChannel: Channel
  const open: ChannelModel[] = []

  const urlFor = (user: string, password: string, vhost = '/') =>
    `amqp://${user}:${password}@${broker.host}:${broker.port}/${encodeURIComponent(vhost)}`

  async function channelAs(user: string, password: string): Promise<Channel> {
    const conn = await connect(urlFor(user, password))
    open.push(conn)
    return openChannel(conn)
  }
  const alice = () => channelAs('alice', 'alice-pw')

  before(async () => {
    broker = await startBroker({ setup: applyPermissionFixture })
    guest = await connect(broker.url)
    setupChannel = await guest.createChannel()
    // What alice may not touch: another's exchange and queue
    await setupChannel.assertExchange('bob-x', 'direct', { autoDelete: false })
    await setupChannel.assertQueue('shared-q', { durable: false })
    await setupChannel.assertExchange('alice-src', 'fanout', { autoDelete: false })
  })
  after(async () => {
    for (const conn of open) await conn.close().catch(() => undefined)
    const ch = await guest.createChannel()
    for (const x of ['bob-x', 'alice-src', 'alice-x', 'alice-x2', 'alice-topic']) await ch.deleteExchange(x)
    for (const q of ['shared-q', 'alice-q', 'alice-q2']) await ch.deleteQueue(q)
    await guest.close()
    await broker.stop()
  })

  describe('login and vhost access', () => {
    test('a user with no permission in the vhost is refused connection.open with 530', T, async () => {
      const result = await rawHandshake({ host: broker.host, port: broker.port, user: 'nobody', pass: 'nobody-pw' })
      assert.equal(result.opened, false)
      assert.deepEqual(result.close, {
        replyCode: 530,
        replyText: "NOT_ALLOWED - access to vhost '/' refused for user 'nobody'",
        classId: 10,
        methodId: 40,
      })
    })
    test(
      'users hashed with SHA-512 and MD5 log in; a wrong password and an unknown user look the same',
      T,
      async () => {
        await (await connect(urlFor('noconf', 'noconf-pw'))).close()
        await (await connect(urlFor('imp', 'imp-pw'))).close()
        const wrong = await rawHandshake({ host: broker.host, port: broker.port, user: 'alice', pass: 'nope' })
        const unknown = await rawHandshake({ host: broker.host, port: broker.port, user: 'mallory', pass: 'nope' })
        assert.equal(wrong.close?.replyCode, ACCESS_REFUSED)
        assert.deepEqual(wrong, unknown)
      },
    )
  })

  describe('configure', () => {
    test('exchange.declare: allowed by name, refused otherwise; passive needs nothing', T, async () => {
      const ch = await alice()
      await ch.assertExchange('alice-x', 'direct', { autoDelete: false })
      await ch.checkExchange('bob-x')
      await expectChannelError(ch, ch.assertExchange('bob-y', 'direct'), refused("access to exchange 'bob-y'"))
    })
    test("exchange.delete of another's exchange is refused", T, async () => {
      const ch = await alice()
      await expectChannelError(ch, ch.deleteExchange('bob-x'), refused("access to exchange 'bob-x'"))
    })
    test(
      'queue.declare: allowed by name, refused otherwise, server-named refused; passive needs nothing',
      T,
      async () => {
        const ch = await alice()
        await ch.assertQueue('alice-q', { durable: false })
        await ch.checkQueue('shared-q')
        await expectChannelError(ch, ch.assertQueue('bob-q'), refused("access to queue 'bob-q'"))
        const ch2 = await alice()
        const err = await ch2.assertQueue('', { exclusive: true }).catch((e: Error) => e)
        assert.match(
          replyText(err) ?? '',
          /^ACCESS_REFUSED - access to queue 'amq\.gen-[A-Za-z0-9_-]{22}' in vhost '\/' refused for user 'alice'$/,
        )
      },
    )
    test("queue.delete of another's queue is refused", T, async () => {
      const ch = await alice()
      await expectChannelError(ch, ch.deleteQueue('shared-q'), refused("access to queue 'shared-q'"))
    })
    test('a new exchange with an alternate exchange needs write on the alternate', T, async () => {
      const ch = await alice()
      await ch.assertExchange('alice-ae', 'fanout', { autoDelete: true, alternateExchange: 'alice-x' })
      await ch.deleteExchange('alice-ae')
      await expectChannelError(
        ch,
        ch.assertExchange('alice-ae2', 'fanout', { alternateExchange: 'bob-x' }),
        refused("access to exchange 'bob-x'"),
      )
    })
    test('a new queue with a dead-letter exchange needs write on it (the default one is amq.default)', T, async () => {
      const ch = await alice()
      await ch.assertQueue('alice-dlq', { exclusive: true, deadLetterExchange: 'alice-x' })
      await expectChannelError(
        ch,
        ch.assertQueue('alice-dlq2', { exclusive: true, deadLetterExchange: 'bob-x' }),
        refused("access to exchange 'bob-x'"),
      )
      const ch2 = await alice()
      await expectChannelError(
        ch2,
        ch2.assertQueue('alice-dlq3', { exclusive: true, deadLetterExchange: '' }),
        refused("access to exchange 'amq.default'"),
      )
    })
    test("'' configures nothing: it is '^$', not '.*'", T, async () => {
      const ch = await channelAs('noconf', 'noconf-pw')
      await expectChannelError(ch, ch.assertQueue('noconf-q'), refused("access to queue 'noconf-q'", 'noconf'))
    })
  })

  describe('write', () => {
    test('publish to an exchange matching write is routed; to the default exchange checks amq.default', T, async () => {
      const ch = await alice()
      await ch.assertQueue('alice-q2', { durable: false })
      await ch.bindQueue('alice-q2', 'alice-x', 'k')
      ch.publish('alice-x', 'k', Buffer.from('m1'))
      await roundTrip(ch)
      const got = await ch.get('alice-q2', { noAck: true })
      assert.ok(got && got.content.toString() === 'm1')
      await expectChannelError(
        ch,
        () => ch.publish('', 'alice-q2', Buffer.from('m2')),
        refused("access to exchange 'amq.default'"),
      )
    })
    test('publish to an exchange not writable is refused before it is looked up (403, not 404)', T, async () => {
      const ch = await alice()
      await expectChannelError(
        ch,
        () => ch.publish('bob-nothing', 'k', Buffer.from('m')),
        refused("access to exchange 'bob-nothing'"),
      )
      const ch2 = await alice()
      await expectChannelError(ch2, () => ch2.publish('alice-nothing', 'k', Buffer.from('m')), {
        code: 404,
        text: "NOT_FOUND - no exchange 'alice-nothing' in vhost '/'",
      })
    })
    test('queue.bind needs write on the queue', T, async () => {
      const ch = await alice()
      await expectChannelError(ch, ch.bindQueue('shared-q', 'alice-x', 'k'), refused("access to queue 'shared-q'"))
    })
    test('exchange.bind needs write on the destination and read on the source', T, async () => {
      const ch = await alice()
      await ch.assertExchange('alice-x2', 'fanout', { autoDelete: false })
      await ch.bindExchange('alice-x2', 'alice-src', '')
      await ch.unbindExchange('alice-x2', 'alice-src', '')
      await expectChannelError(ch, ch.bindExchange('bob-x', 'alice-x', 'k'), refused("access to exchange 'bob-x'"))
      const ch2 = await alice()
      await expectChannelError(ch2, ch2.bindExchange('alice-x2', 'bob-x', 'k'), refused("access to exchange 'bob-x'"))
    })
  })

  describe('read', () => {
    test('queue.bind needs read on the exchange', T, async () => {
      const ch = await alice()
      await expectChannelError(
        ch,
        ch.bindQueue('alice-q', 'amq.direct', 'k'),
        refused("access to exchange 'amq.direct'"),
      )
    })
    test('queue.unbind is checked as queue.bind', T, async () => {
      const ch = await alice()
      await expectChannelError(
        ch,
        ch.unbindQueue('alice-q', 'amq.direct', 'k'),
        refused("access to exchange 'amq.direct'"),
      )
    })
    test('basic.get, basic.consume and queue.purge need read on the queue', T, async () => {
      const ch = await alice()
      assert.equal(await ch.get('alice-q'), false)
      await expectChannelError(ch, ch.get('shared-q'), refused("access to queue 'shared-q'"))
      const ch2 = await alice()
      await expectChannelError(
        ch2,
        ch2.consume('shared-q', () => {}),
        refused("access to queue 'shared-q'"),
      )
      const ch3 = await alice()
      await expectChannelError(ch3, ch3.purgeQueue('shared-q'), refused("access to queue 'shared-q'"))
    })
  })

  describe('topic permissions (alice-topic: write ^{username}\\., read ^public\\.)', () => {
    test('publish: the routing key must match the write pattern, {username} expanded', T, async () => {
      const ch = await alice()
      await ch.assertExchange('alice-topic', 'topic', { autoDelete: false })
      await ch.bindQueue('alice-q2', 'alice-topic', 'public.#')
      ch.publish('alice-topic', 'alice.news', Buffer.from('m'))
      await roundTrip(ch)
      await expectChannelError(ch, () => ch.publish('alice-topic', 'bob.news', Buffer.from('m')), {
        code: ACCESS_REFUSED,
        text:
          "ACCESS_REFUSED - access to topic 'bob.news' in exchange 'alice-topic' in vhost '/' " +
          "refused for user 'alice'",
      })
    })
    test('queue.bind and queue.unbind: the binding key must match the read pattern', T, async () => {
      const ch = await alice()
      await ch.assertExchange('alice-topic', 'topic', { autoDelete: false })
      await ch.bindQueue('alice-q', 'alice-topic', 'public.#')
      await ch.unbindQueue('alice-q', 'alice-topic', 'public.#')
      await expectChannelError(ch, ch.bindQueue('alice-q', 'alice-topic', 'secret.#'), {
        code: ACCESS_REFUSED,
        text:
          "ACCESS_REFUSED - access to topic 'secret.#' in exchange 'alice-topic' in vhost '/' " +
          "refused for user 'alice'",
      })
      const ch2 = await alice()
      await expectChannelError(ch2, ch2.unbindQueue('alice-q', 'alice-topic', 'secret.#'), {
        code: ACCESS_REFUSED,
        text:
          "ACCESS_REFUSED - access to topic 'secret.#' in exchange 'alice-topic' in vhost '/' " +
          "refused for user 'alice'",
      })
    })
  })

  describe('pika', () => {
    test('the same refusals reach pika: 403 on the channel, 530 at connection.open', T, async () => {
      const result = await runPython(PIKA_SCRIPT, [broker.host, String(broker.port)])
      assert.equal(result.code, 0, result.stderr)
      assert.deepEqual(JSON.parse(result.stdout), {
        declare_own_queue: 'alice-pika-q',
        declare_other_queue: [
          403,
          "ACCESS_REFUSED - access to queue 'bob-pika-q' in vhost '/' refused for user 'alice'",
        ],
        publish_default_exchange: [
          403,
          "ACCESS_REFUSED - access to exchange 'amq.default' in vhost '/' refused for user 'alice'",
        ],
        get_other_queue: [403, "ACCESS_REFUSED - access to queue 'shared-q' in vhost '/' refused for user 'alice'"],
        alice_connection_open: true,
        nobody: `ConnectionClosedByBroker: (530) "NOT_ALLOWED - access to vhost '/' refused for user 'nobody'"`,
      })
    })
  })

  describe('user_id', () => {
    test('another user_id is refused with 406 unless the user is an impersonator', T, async () => {
      const ch = await alice()
      await expectChannelError(ch, () => ch.publish('alice-x', 'k', Buffer.from('m'), { userId: 'bob' }), {
        code: 406,
        text: "PRECONDITION_FAILED - user_id property set to 'bob' but authenticated user was 'alice'",
      })
      const imp = await channelAs('imp', 'imp-pw')
      imp.publish('amq.direct', 'k', Buffer.from('m'), { userId: 'bob' })
      await roundTrip(imp)
    })
  })
})
