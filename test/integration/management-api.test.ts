// The management HTTP API (src/management/api) against an in-process Warren: real HTTP requests with
// node's fetch, and Debian's rabbitmqadmin (the one shipped with rabbitmq-server 3.10.8) as a client.
// Status codes, bodies and error texts are RabbitMQ 3.10.8's, compared with curl against a private node
// (see /work/wt/notes/api.md).
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { networkInterfaces } from 'node:os'
import { promisify } from 'node:util'
import amqp from 'amqplib'
import type { InProcessBroker } from '../helpers/broker.js'
import { eventually } from '../helpers/amqplib.js'
import { startManagementServer, type ManagementServer } from '../../src/management/api/server.js'
import { apiClient, startBrokerWithApi, basicAuth as auth, GUEST, type Body } from '../helpers/management-http.js'

const run = promisify(execFile)
const RABBITMQADMIN = ['/usr/bin/rabbitmqadmin', '/usr/sbin/rabbitmqadmin'].find((p) => existsSync(p))

describe('management API', () => {
  let broker: InProcessBroker
  let api: ManagementServer
  let base: string
  const call = apiClient(() => base)

  before(async () => {
    ;({ broker, api, base } = await startBrokerWithApi())
    broker.broker.putUser('plain', { password: 'p', tags: [] })
    broker.broker.putUser('mgmt', { password: 'p', tags: ['management'] })
    broker.broker.putUser('mon', { password: 'p', tags: ['monitoring'] })
  })

  after(async () => {
    await api?.close()
    await broker?.stop()
  })

  test('authentication and tags as RabbitMQ checks them', async () => {
    const none = await call('GET', '/api/overview', undefined, '')
    assert.equal(none.status, 401)
    assert.equal(none.headers.get('www-authenticate'), 'Basic realm="RabbitMQ Management"')
    assert.equal(none.text, '')
    const wrong = await call('GET', '/api/overview', undefined, auth('guest', 'nope'))
    assert.equal(wrong.status, 401)
    assert.deepEqual(wrong.json, { error: 'not_authorized', reason: 'Login failed' })
    const untagged = await call('GET', '/api/overview', undefined, auth('plain', 'p'))
    assert.equal(untagged.status, 401)
    assert.deepEqual(untagged.json, { error: 'not_authorised', reason: 'Not management user' })
    const monUsers = await call('GET', '/api/users', undefined, auth('mon', 'p'))
    assert.equal(monUsers.status, 401)
    assert.deepEqual(monUsers.json, { error: 'not_authorised', reason: 'Not administrator user' })
    const whoami = await call('GET', '/api/whoami', undefined, auth('mon', 'p'))
    assert.deepEqual(whoami.json, { name: 'mon', tags: ['monitoring'] })
    // a management user without permissions sees no vhost
    const mgmtVhosts = await call('GET', '/api/vhosts', undefined, auth('mgmt', 'p'))
    assert.deepEqual(mgmtVhosts.json, [])
  })

  test('loopback users (guest) only from the machine itself', async () => {
    // another address of this machine, if it has one: the API listens on all addresses for this test
    const remote = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address
    assert.ok(remote, 'this test needs a non-loopback IPv4 address')
    const wide = await startManagementServer(broker.broker, () => broker.connections, { port: 0, host: '0.0.0.0' })
    try {
      const res = await fetch(`http://${remote}:${wide.port}/api/whoami`, { headers: { authorization: GUEST } })
      assert.equal(res.status, 401)
      assert.equal(res.headers.get('www-authenticate'), null)
      assert.deepEqual(await res.json(), { error: 'not_authorised', reason: 'User can only log in via localhost' })
      const wrong = await fetch(`http://${remote}:${wide.port}/api/whoami`, {
        headers: { authorization: auth('guest', 'nope') },
      })
      assert.deepEqual(await wrong.json(), { error: 'not_authorized', reason: 'Login failed' })
      const mon = await fetch(`http://${remote}:${wide.port}/api/whoami`, {
        headers: { authorization: auth('mon', 'p') },
      })
      assert.equal(mon.status, 200)
    } finally {
      await wide.close()
    }
  })

  test('unknown paths, missing objects, methods and bodies', async () => {
    assert.deepEqual((await call('GET', '/api/nothing')).json, { error: 'Object Not Found', reason: 'Not Found' })
    assert.equal((await call('GET', '/api/queues/%2F/missing')).status, 404)
    assert.equal((await call('GET', '/api/queues/novhost')).status, 404)
    const patch = await call('PATCH', '/api/overview')
    assert.equal(patch.status, 405)
    assert.equal(patch.text, '')
    // missing keys, as Erlang prints the list (wrapped past 80 characters)
    assert.equal((await call('POST', '/api/queues/%2F/missing/get', { count: 1 })).status, 404)
    const noQueueKeys = await call('PUT', '/api/queues/%2F/keys', {})
    assert.equal(noQueueKeys.status, 201)
    assert.equal((await call('GET', '/api/queues/%2F/keys')).json.durable, false)
    assert.deepEqual((await call('POST', '/api/queues/%2F/keys/get', { count: 1 })).json, {
      error: 'bad_request',
      reason: '[{key_missing,ackmode},{key_missing,encoding}]',
    })
    assert.deepEqual((await call('POST', '/api/exchanges/%2F/amq.default/publish', {})).json, {
      error: 'bad_request',
      reason:
        '[{key_missing,routing_key},\n {key_missing,properties},\n {key_missing,payload},\n {key_missing,payload_encoding}]',
    })
    assert.deepEqual((await call('PUT', '/api/permissions/%2F/guest', {})).json, {
      error: 'bad_request',
      reason: '[{key_missing,configure},{key_missing,write},{key_missing,read}]',
    })
    assert.deepEqual((await call('PUT', '/api/users/notags', { password: 'x' })).json, {
      error: 'bad_request',
      reason: 'tags_not_present',
    })
    assert.equal((await call('PUT', '/api/exchanges/%2F/bare', {})).status, 201)
    const bare = (await call('GET', '/api/exchanges/%2F/bare')).json
    assert.equal(bare.type, 'direct')
    assert.equal(bare.durable, false)
    assert.equal((await call('DELETE', '/api/exchanges/%2F/bare')).status, 204)
    assert.equal((await call('DELETE', '/api/queues/%2F/keys')).status, 204)
    const bad = await call('PUT', '/api/queues/%2F/q3', '{bad')
    assert.equal(bad.status, 400)
    assert.deepEqual(bad.json, { error: 'bad_request', reason: 'not_json' })
  })

  test('overview, vhosts, health and aliveness', async () => {
    const o = (await call('GET', '/api/overview')).json
    for (const key of [
      'management_version',
      'rabbitmq_version',
      'product_name',
      'node',
      'object_totals',
      'queue_totals',
      'listeners',
      'exchange_types',
    ]) {
      assert.ok(key in o, key)
    }
    assert.deepEqual(Object.keys(o.object_totals).sort(), [
      'channels',
      'connections',
      'consumers',
      'exchanges',
      'queues',
    ])
    assert.equal(typeof o.message_stats.publish, 'number')
    const vhosts = (await call('GET', '/api/vhosts')).json
    assert.deepEqual(
      vhosts.map((v: Body) => Object.keys(v).sort()),
      [
        [
          'cluster_state',
          'default_queue_type',
          'description',
          'message_stats',
          'messages',
          'messages_details',
          'messages_ready',
          'messages_ready_details',
          'messages_unacknowledged',
          'messages_unacknowledged_details',
          'metadata',
          'name',
          'tags',
          'tracing',
        ],
      ],
    )
    assert.equal((await call('PUT', '/api/vhosts/v2', { description: 'two' })).status, 201)
    assert.equal((await call('PUT', '/api/vhosts/v2', {})).status, 204)
    assert.equal((await call('GET', '/api/vhosts/v2')).json.description, 'two')
    assert.deepEqual((await call('GET', '/api/health/checks/alarms')).json, { status: 'ok' })
    assert.deepEqual((await call('GET', '/api/aliveness-test/%2F')).json, { status: 'ok' })
    assert.equal((await call('DELETE', '/api/vhosts/v2')).status, 204)
    assert.equal((await call('DELETE', '/api/vhosts/v2')).status, 404)
    assert.equal(broker.broker.vhosts.has('v2'), false)
  })

  test('users, permissions and topic permissions', async () => {
    assert.equal((await call('PUT', '/api/users/u2', { password: 'x', tags: 'management' })).status, 201)
    assert.equal((await call('PUT', '/api/users/u2', { password: 'y', tags: 'management,monitoring' })).status, 204)
    const u = (await call('GET', '/api/users/u2')).json
    assert.deepEqual(Object.keys(u).sort(), ['hashing_algorithm', 'limits', 'name', 'password_hash', 'tags'])
    assert.deepEqual(u.tags, ['management', 'monitoring'])
    assert.equal((await call('GET', '/api/whoami', undefined, auth('u2', 'y'))).status, 200)
    const noUser = await call('PUT', '/api/permissions/%2F/nouser', { configure: '.*', write: '.*', read: '.*' })
    assert.deepEqual(noUser.json, { error: 'bad_request', reason: 'vhost_or_user_not_found' })
    assert.equal((await call('PUT', '/api/permissions/%2F/u2', { configure: '', write: '.*', read: '.*' })).status, 201)
    assert.deepEqual((await call('GET', '/api/permissions/%2F/u2')).json, {
      user: 'u2',
      vhost: '/',
      configure: '',
      write: '.*',
      read: '.*',
    })
    const tp = { exchange: 'amq.topic', write: '^a', read: '.*' }
    assert.equal((await call('PUT', '/api/topic-permissions/%2F/u2', tp)).status, 201)
    assert.deepEqual((await call('GET', '/api/topic-permissions/%2F/u2')).json, [{ user: 'u2', vhost: '/', ...tp }])
    // u2 may not configure: declaring a queue is refused as RabbitMQ refuses it
    const refused = await call('PUT', '/api/queues/%2F/u2q', {}, auth('u2', 'y'))
    assert.equal(refused.status, 401)
    assert.deepEqual(refused.json, { error: 'not_authorised', reason: 'Access refused.' })
    assert.equal((await call('DELETE', '/api/topic-permissions/%2F/u2')).status, 204)
    assert.equal((await call('DELETE', '/api/permissions/%2F/u2')).status, 204)
    assert.equal((await call('DELETE', '/api/users/u2')).status, 204)
    assert.equal((await call('DELETE', '/api/users/u2')).status, 404)
  })

  test('exchanges, queues, bindings, publish, get and purge', async () => {
    assert.equal((await call('PUT', '/api/exchanges/%2F/x1', { type: 'topic', durable: true })).status, 201)
    assert.equal((await call('PUT', '/api/exchanges/%2F/x1', { type: 'topic', durable: true })).status, 204)
    assert.deepEqual((await call('PUT', '/api/exchanges/%2F/amq.x', { type: 'direct' })).json, {
      error: 'not_authorised',
      reason: 'Access refused.',
    })
    const x = (await call('GET', '/api/exchanges/%2F/x1')).json
    assert.deepEqual(x, {
      name: 'x1',
      vhost: '/',
      type: 'topic',
      durable: true,
      auto_delete: false,
      internal: false,
      arguments: {},
      // declared through the API by guest
      user_who_performed_action: 'guest',
      // The detailed rates' lists, empty with rates_mode basic (RabbitMQ 3.10.8)
      incoming: [],
      outgoing: [],
    })
    assert.equal((await call('PUT', '/api/queues/%2F/q1', { durable: false })).status, 201)
    assert.equal((await call('PUT', '/api/queues/%2F/q1', { durable: false })).status, 204)
    assert.deepEqual((await call('PUT', '/api/queues/%2F/q1', { durable: true })).json, {
      error: 'bad_request',
      reason: "inequivalent arg 'durable' for queue 'q1' in vhost '/': received 'true' but current is 'false'",
    })
    const bound = await call('POST', '/api/bindings/%2F/e/x1/q/q1', { routing_key: 'a.b', arguments: {} })
    assert.equal(bound.status, 201)
    assert.equal(bound.headers.get('location'), 'q1/a.b')
    assert.deepEqual((await call('GET', '/api/bindings/%2F/e/x1/q/q1')).json, [
      {
        source: 'x1',
        vhost: '/',
        destination: 'q1',
        destination_type: 'queue',
        routing_key: 'a.b',
        arguments: {},
        properties_key: 'a.b',
      },
    ])
    const queueBindings = (await call('GET', '/api/queues/%2F/q1/bindings')).json
    assert.deepEqual(
      queueBindings.map((b: Body) => b.source),
      ['', 'x1'],
    )

    const publish = (exchange: string, routing_key: string, payload: string) =>
      call('POST', `/api/exchanges/%2F/${exchange}/publish`, {
        properties: {},
        routing_key,
        payload,
        payload_encoding: 'string',
      })
    assert.deepEqual((await publish('x1', 'a.b', 'one')).json, { routed: true })
    assert.deepEqual((await publish('amq.default', 'q1', 'two')).json, { routed: true })
    assert.deepEqual((await publish('amq.default', 'nowhere', 'x')).json, { routed: false })
    assert.deepEqual((await publish('nox', 'k', 'x')).json, {
      error: 'bad_request',
      reason: "404 NOT_FOUND - no exchange 'nox' in vhost '/'",
    })
    const q = (await call('GET', '/api/queues/%2F/q1')).json
    assert.equal(q.messages, 2)
    assert.equal(q.messages_ready, 2)
    const got = await call('POST', '/api/queues/%2F/q1/get', {
      count: 5,
      ackmode: 'ack_requeue_true',
      encoding: 'auto',
    })
    assert.deepEqual(got.json, [
      {
        payload_bytes: 3,
        redelivered: false,
        exchange: 'x1',
        routing_key: 'a.b',
        message_count: 1,
        properties: [],
        payload: 'one',
        payload_encoding: 'string',
      },
      {
        payload_bytes: 3,
        redelivered: false,
        exchange: '',
        routing_key: 'q1',
        message_count: 0,
        properties: [],
        payload: 'two',
        payload_encoding: 'string',
      },
    ])
    // requeued, redelivered the next time
    const again = await call('POST', '/api/queues/%2F/q1/get', {
      count: 1,
      ackmode: 'ack_requeue_false',
      encoding: 'base64',
    })
    assert.equal(again.json[0].redelivered, true)
    assert.equal(again.json[0].payload, Buffer.from('one').toString('base64'))
    assert.equal((await call('GET', '/api/queues/%2F/q1')).json.messages, 1)
    assert.equal((await call('DELETE', '/api/queues/%2F/q1/contents')).status, 204)
    assert.equal((await call('GET', '/api/queues/%2F/q1')).json.messages, 0)

    assert.equal((await call('DELETE', '/api/bindings/%2F/e/x1/q/q1/a.b')).status, 204)
    assert.equal((await call('DELETE', '/api/bindings/%2F/e/x1/q/q1/a.b')).status, 404)
    assert.equal((await call('DELETE', '/api/queues/%2F/q1')).status, 204)
    assert.equal((await call('DELETE', '/api/queues/%2F/q1')).status, 404)
    assert.equal((await call('DELETE', '/api/exchanges/%2F/x1')).status, 204)
    assert.equal((await call('DELETE', '/api/exchanges/%2F/x1')).status, 404)
  })

  test('a single-active-consumer queue: one consumer single_active, the others waiting, as RabbitMQ', async () => {
    const conn = await amqp.connect(broker.url)
    const ch = await conn.createChannel()
    await ch.assertQueue('sac-listed', { durable: false, arguments: { 'x-single-active-consumer': true } })
    await ch.assertQueue('plain-listed', { durable: false })
    await ch.consume('sac-listed', () => {}, { consumerTag: 'first' })
    await ch.consume('sac-listed', () => {}, { consumerTag: 'second' })
    await ch.consume('plain-listed', () => {}, { consumerTag: 'plain' })
    const consumers = (await call('GET', '/api/consumers')).json as Body[]
    const status = Object.fromEntries(consumers.map((c) => [c.consumer_tag, [c.active, c.activity_status]]))
    assert.deepEqual(status, { first: [true, 'single_active'], second: [false, 'waiting'], plain: [true, 'up'] })
    const queue = (await call('GET', '/api/queues/%2F/sac-listed')).json
    assert.equal(queue.single_active_consumer_tag, 'first')
    assert.deepEqual(
      queue.consumer_details.map((c: Body) => [c.consumer_tag, c.activity_status]),
      [
        ['first', 'single_active'],
        ['second', 'waiting'],
      ],
    )
    assert.equal((await call('GET', '/api/queues/%2F/plain-listed')).json.single_active_consumer_tag, null)
    await ch.deleteQueue('sac-listed')
    await ch.deleteQueue('plain-listed')
    await conn.close()
  })

  test('connections, channels and consumers are listed; a connection is closed with 320 and the X-Reason text', async () => {
    const conn = await amqp.connect(broker.url)
    const closed = new Promise<Error>((resolve) => conn.on('close', resolve))
    const list = (await call('GET', '/api/connections')).json
    assert.equal(list.length, 1)
    assert.equal(list[0].user, 'guest')
    assert.equal(list[0].vhost, '/')
    assert.equal(list[0].client_properties.product, 'amqplib')
    // RabbitMQ's name: "client address:port -> server address:port"
    assert.equal(list[0].name, `${list[0].peer_host}:${list[0].peer_port} -> 127.0.0.1:${broker.port}`)
    assert.equal(list[0].host, '127.0.0.1')
    assert.equal(list[0].port, broker.port)
    assert.deepEqual((await call('GET', '/api/connections', undefined, auth('mgmt', 'p'))).json, [])
    const ch = await conn.createChannel()
    await ch.prefetch(7)
    await ch.assertQueue('consumed', { durable: false })
    const { consumerTag } = await ch.consume('consumed', () => {}, { noAck: false })
    const channels = (await call('GET', '/api/channels')).json
    assert.equal(channels.length, 1)
    assert.equal(channels[0].name, `${list[0].name} (1)`)
    assert.equal(channels[0].number, 1)
    assert.equal(channels[0].consumer_count, 1)
    assert.equal(channels[0].prefetch_count, 7)
    assert.deepEqual(channels[0].connection_details.name, list[0].name)
    assert.equal((await call('GET', `/api/channels/${encodeURIComponent(channels[0].name)}`)).json.number, 1)
    const consumers = (await call('GET', '/api/consumers/%2F')).json
    assert.equal(consumers.length, 1)
    assert.equal(consumers[0].consumer_tag, consumerTag)
    assert.deepEqual(consumers[0].queue, { name: 'consumed', vhost: '/' })
    assert.equal(consumers[0].ack_required, true)
    assert.equal(consumers[0].prefetch_count, 7)
    assert.equal(consumers[0].channel_details.name, channels[0].name)
    assert.equal((await call('GET', '/api/connections')).json[0].channels, 1)
    const name = encodeURIComponent(list[0].name)
    assert.equal((await call('GET', `/api/connections/${name}`)).json.name, list[0].name)
    const res = await fetch(`${base}/api/connections/${name}`, {
      method: 'DELETE',
      headers: { authorization: GUEST, 'x-reason': 'bye now' },
    })
    assert.equal(res.status, 204)
    const err = await closed
    assert.match(err.message, /320 \(CONNECTION-FORCED\) with message "CONNECTION_FORCED - bye now"/)
  })

  test("a client's own name for its connection (connection_name) is its user_provided_name; unnamed, there is none", async () => {
    const unnamed = await amqp.connect(broker.url)
    const named = await amqp.connect(broker.url, { clientProperties: { connection_name: 'billing worker' } })
    const list = (await call('GET', '/api/connections')).json as Body[]
    assert.deepEqual(list.map((c) => c.user_provided_name ?? 'none').sort(), ['billing worker', 'none'])
    const unnamedJson = list.find((c) => c.user_provided_name === undefined)!
    assert.equal('user_provided_name' in unnamedJson, false)
    const namedJson = list.find((c) => c.user_provided_name !== undefined)!
    const one = (await call('GET', `/api/connections/${encodeURIComponent(namedJson.name)}`)).json
    assert.equal(one.user_provided_name, 'billing worker')
    assert.equal(one.client_properties.connection_name, 'billing worker')
    await named.close()
    await unnamed.close()
    await eventually(async () => (await call('GET', '/api/connections')).json.length === 0, 'both connections gone')
  })

  test('definitions: export in RabbitMQ format, import of a posted body', async () => {
    const defs = {
      users: [
        {
          name: 'imported',
          password_hash: '',
          hashing_algorithm: 'rabbit_password_hashing_sha256',
          tags: ['management'],
        },
      ],
      vhosts: [{ name: 'iv' }],
      permissions: [{ user: 'imported', vhost: 'iv', configure: '.*', write: '.*', read: '.*' }],
      queues: [{ name: 'iq', vhost: 'iv', durable: true, auto_delete: false, arguments: {} }],
      exchanges: [
        { name: 'ix', vhost: 'iv', type: 'fanout', durable: true, auto_delete: false, internal: false, arguments: {} },
      ],
      bindings: [
        { source: 'ix', vhost: 'iv', destination: 'iq', destination_type: 'queue', routing_key: '', arguments: {} },
      ],
    }
    assert.equal((await call('POST', '/api/definitions', defs)).status, 204)
    const out = (await call('GET', '/api/definitions')).json
    for (const key of [
      'rabbit_version',
      'users',
      'vhosts',
      'permissions',
      'topic_permissions',
      'parameters',
      'global_parameters',
      'policies',
      'queues',
      'exchanges',
      'bindings',
    ]) {
      assert.ok(key in out, key)
    }
    assert.ok(out.vhosts.some((v: Body) => v.name === 'iv'))
    assert.deepEqual(
      out.queues.filter((q: Body) => q.vhost === 'iv'),
      defs.queues,
    )
    assert.deepEqual(
      out.exchanges.filter((e: Body) => e.vhost === 'iv'),
      defs.exchanges,
    )
    assert.deepEqual(
      out.bindings.filter((b: Body) => b.vhost === 'iv'),
      defs.bindings,
    )
    assert.equal((await call('POST', '/api/definitions', { queues: [{ name: 'q', vhost: 'none' }] })).status, 400)
    assert.equal((await call('DELETE', '/api/vhosts/iv')).status, 204)
  })

  test("Debian's rabbitmqadmin works against it", async () => {
    assert.ok(RABBITMQADMIN, 'rabbitmqadmin is installed with rabbitmq-server (scripts/ensure-deps.sh --test)')
    const admin = async (...args: string[]) =>
      (
        await run('python3', [
          RABBITMQADMIN!,
          '-H',
          '127.0.0.1',
          '-P',
          String(api.port),
          '-u',
          'guest',
          '-p',
          'guest',
          ...args,
        ])
      ).stdout
    assert.equal(await admin('declare', 'queue', 'name=adminq', 'durable=false'), 'queue declared\n')
    assert.match(await admin('list', 'queues', 'name', 'messages'), /\| adminq +\| 0 +\|/)
    assert.equal(await admin('publish', 'routing_key=adminq', 'payload=hello'), 'Message published\n')
    assert.match(await admin('list', 'queues', 'name', 'messages'), /\| adminq +\| 1 +\|/)
    assert.match(
      await admin('get', 'queue=adminq', 'ackmode=ack_requeue_true'),
      /\| adminq +\|.*\| hello +\| 5 +\| string +\|/,
    )
    assert.equal(await admin('purge', 'queue', 'name=adminq'), 'queue purged\n')
    assert.match(await admin('list', 'queues', 'name', 'messages'), /\| adminq +\| 0 +\|/)
    const file = `/tmp/warren-admin-export-${process.pid}.json`
    assert.match(await admin('export', file), /Exported definitions/)
    assert.equal(await admin('delete', 'queue', 'name=adminq'), 'queue deleted\n')
    assert.equal(broker.broker.vhosts.get('/')!.queues.has('adminq'), false)
    assert.match(await admin('import', file), /Uploaded definitions/)
    assert.equal(broker.broker.vhosts.get('/')!.queues.has('adminq'), true)
    assert.match(await admin('list', 'users'), /guest/)
    assert.match(await admin('list', 'vhosts'), /\| \/ +\| 0 +\|/)
    assert.equal(await admin('declare', 'exchange', 'name=adminx', 'type=fanout'), 'exchange declared\n')
    assert.equal(await admin('declare', 'binding', 'source=adminx', 'destination=adminq'), 'binding declared\n')
    assert.match(await admin('list', 'bindings'), /\| adminx +\| adminq +\| +\|/)
    const conn = await amqp.connect(broker.url)
    const closed = new Promise<unknown>((resolve) => conn.on('close', resolve))
    const name = (await admin('-f', 'tsv', '-q', 'list', 'connections', 'name')).trim()
    assert.equal(await admin('close', 'connection', `name=${name}`), 'connection closed\n')
    await closed
    assert.equal(await admin('delete', 'exchange', 'name=adminx'), 'exchange deleted\n')
  })
})
