// warrenctl (src/cli) as a user runs it: the compiled CLI in a child process against a library broker's
// management API. Every command's output (table and JSON) and its effect, seen through the API or amqplib,
// and the errors: exit code and the one line on stderr. The policy commands are in
// warrenctl-policies.test.ts (they need the /api/policies endpoints).
import assert from 'node:assert/strict'
import { createServer, type AddressInfo } from 'node:net'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import amqp from 'amqplib'
import { startBroker, type WarrenBroker } from '../../src/index.js'
import { warrenctl } from '../helpers/warrenctl.js'
import { basicAuth, GUEST } from '../helpers/management-http.js'

const T = { timeout: 30_000 }
const AUTH = { authorization: GUEST }
// API bodies are looked at field by field
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = any

/** A port that was free a moment ago and that nothing listens on */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

describe('warrenctl', () => {
  let broker: WarrenBroker
  let url: string
  let work: string
  const ctl = (...args: string[]) => warrenctl(url, args)
  /** warrenctl that must succeed: answers its stdout */
  async function ok(...args: string[]): Promise<string> {
    const r = await ctl(...args)
    assert.equal(r.code, 0, `warrenctl ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
    assert.equal(r.stderr, '')
    return r.stdout
  }
  async function api(path: string, method = 'GET'): Promise<{ status: number; body: Body }> {
    const res = await fetch(url + path, { method, headers: AUTH })
    const text = await res.text()
    return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as Body) }
  }

  before(async () => {
    broker = await startBroker({ port: 0, logLevel: 'silent', managementPort: 0 })
    url = `http://127.0.0.1:${broker.managementPort!}`
    work = await mkdtemp(join(tmpdir(), 'warrenctl-'))
  })
  after(async () => {
    await broker?.close()
    if (work) await rm(work, { recursive: true, force: true })
  })

  test('status: the overview as lines and as JSON', T, async () => {
    const table = await ok('status')
    assert.match(table, /^Status of the node \.\.\.\n/)
    assert.match(table, /^product: +Warren \d+\.\d+\.\d+$/m)
    assert.match(table, /^node: +warren@localhost$/m)
    assert.match(table, new RegExp(`^listeners: +amqp:${broker.port}, http:${broker.managementPort}$`, 'm'))
    assert.match(table, /^object_totals\.exchanges: +6$/m)
    const json = JSON.parse(await ok('status', '--format', 'json')) as Body
    assert.equal(json.product_name, 'Warren')
    assert.equal(json.rabbitmq_version, '3.10.8')
    assert.equal(json.object_totals.queues, 0)
    assert.equal((await ok('status', '-q')).startsWith('product:'), true)
  })

  test('list_queues, list_exchanges, list_bindings: default and chosen columns, table and JSON', T, async () => {
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${broker.port}`)
    try {
      const ch = await conn.createChannel()
      await ch.assertQueue('orders', { durable: true })
      await ch.assertQueue('audit-log', { durable: false })
      await ch.assertExchange('events', 'topic', { durable: false })
      await ch.bindQueue('audit-log', 'events', 'order.*')
      ch.sendToQueue('orders', Buffer.from('1'))
      ch.sendToQueue('orders', Buffer.from('2'))
      await ch.checkQueue('orders')

      assert.equal(
        await ok('list_queues'),
        'Listing queues for vhost / ...\nname       messages\naudit-log  0\norders     2\n',
      )
      assert.equal(
        await ok('list_queues', '-q', 'name', 'messages_ready', 'durable'),
        'name       messages_ready  durable\naudit-log  0               false\norders     2               true\n',
      )
      assert.deepEqual(JSON.parse(await ok('list_queues', '--format', 'json', '--columns', 'name,consumers,durable')), [
        { name: 'audit-log', consumers: 0, durable: false },
        { name: 'orders', consumers: 0, durable: true },
      ])

      assert.equal(
        await ok('list_exchanges', '-q'),
        [
          'name         type',
          '             direct',
          'amq.direct   direct',
          'amq.fanout   fanout',
          'amq.headers  headers',
          'amq.match    headers',
          'amq.topic    topic',
          'events       topic',
          '',
        ].join('\n'),
      )
      const exchangesJson = JSON.parse(await ok('list_exchanges', '--format', 'json', 'name', 'durable')) as Body[]
      assert.deepEqual(
        exchangesJson.find((e: Body) => e.name === 'events'),
        { name: 'events', durable: false },
      )

      assert.equal(
        await ok('list_bindings', '-q', '--columns', 'source_name,destination_name,destination_kind,routing_key'),
        [
          'source_name  destination_name  destination_kind  routing_key',
          '             orders            queue             orders',
          '             audit-log         queue             audit-log',
          'events       audit-log         queue             order.*',
          '',
        ].join('\n'),
      )
      const bindings = JSON.parse(await ok('list_bindings', '--format', 'json')) as Body[]
      assert.deepEqual(bindings[2], {
        source_name: 'events',
        source_kind: 'exchange',
        destination_name: 'audit-log',
        destination_kind: 'queue',
        routing_key: 'order.*',
        arguments: {},
      })
    } finally {
      await conn.close()
    }
  })

  test('list_connections, list_channels, list_consumers; close_connection closes one', T, async () => {
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${broker.port}`)
    // amqplib reports a close the server starts on 'close', with the reason as an error
    const closed = new Promise<Error>((resolve) => conn.on('close', resolve))
    const ch = await conn.createChannel()
    await ch.assertQueue('work')
    await ch.prefetch(5)
    await ch.consume('work', () => {}, { consumerTag: 'ctl-consumer' })

    const connections = JSON.parse(await ok('list_connections', '--format', 'json', 'name', 'user', 'state')) as Body[]
    assert.equal(connections.length, 1)
    assert.equal(connections[0].user, 'guest')
    assert.equal(connections[0].state, 'running')
    const name = connections[0].name as string
    assert.match(
      await ok('list_connections', '-q'),
      /^user {3}peer_host {2}peer_port {2}state\nguest {2}127\.0\.0\.1 {2}\d+ +running\n$/,
    )

    const channels = JSON.parse(await ok('list_channels', '--format', 'json')) as Body[]
    assert.deepEqual(channels, [{ name: `${name} (1)`, user: 'guest', consumer_count: 1, messages_unacknowledged: 0 }])
    assert.match(
      await ok('list_channels'),
      /^Listing channels \.\.\.\nname +user +consumer_count +messages_unacknowledged\n/,
    )

    const consumers = JSON.parse(await ok('list_consumers', '--format', 'json')) as Body[]
    assert.deepEqual(consumers, [
      {
        queue_name: 'work',
        channel_pid: `${name} (1)`,
        consumer_tag: 'ctl-consumer',
        ack_required: true,
        prefetch_count: 5,
        active: true,
        arguments: {},
      },
    ])
    assert.equal(
      await ok('list_consumers', '-q', 'queue_name', 'consumer_tag', 'ack_required'),
      'queue_name  consumer_tag  ack_required\nwork        ctl-consumer  true\n',
    )

    assert.equal(await ok('close_connection', name, 'go away'), `Closing connection ${name}, reason: go away...\n`)
    const err = await closed
    assert.match(err.message, /CONNECTION_FORCED - go away/)
    assert.deepEqual(JSON.parse(await ok('list_connections', '--format', 'json')), [])
  })

  test('users: add_user, list_users, change_password, set_user_tags, delete_user', T, async () => {
    assert.equal(await ok('add_user', 'alice', 's3cret', '--tags', 'monitoring'), 'Adding user "alice" ...\n')
    assert.equal(await ok('list_users', '-q'), 'user   tags\nalice  [monitoring]\nguest  [administrator]\n')
    assert.deepEqual(JSON.parse(await ok('list_users', '--format', 'json')), [
      { user: 'alice', tags: ['monitoring'] },
      { user: 'guest', tags: ['administrator'] },
    ])
    const whoami = (user: string, pass: string) =>
      fetch(`${url}/api/whoami`, {
        headers: { authorization: basicAuth(user, pass) },
      }).then((r) => r.status)
    assert.equal(await whoami('alice', 's3cret'), 200)

    const again = await ctl('add_user', 'alice', 'x')
    assert.equal(again.code, 1)
    assert.equal(again.stderr, "warrenctl: user 'alice' already exists\n")

    await ok('change_password', 'alice', 'n3w')
    assert.equal(await whoami('alice', 's3cret'), 401)
    assert.equal(await whoami('alice', 'n3w'), 200)
    assert.deepEqual((await api('/api/users/alice')).body.tags, ['monitoring'])

    assert.equal(
      await ok('set_user_tags', 'alice', 'management', 'policymaker'),
      'Setting tags for user "alice" to [management, policymaker] ...\n',
    )
    assert.deepEqual((await api('/api/users/alice')).body.tags, ['management', 'policymaker'])
    assert.equal(await whoami('alice', 'n3w'), 200, 'set_user_tags keeps the password')
    await ok('set_user_tags', 'alice')
    assert.deepEqual((await api('/api/users/alice')).body.tags, [])

    await ok('delete_user', 'alice')
    assert.equal((await api('/api/users/alice')).status, 404)
    for (const args of [
      ['delete_user', 'alice'],
      ['change_password', 'alice', 'x'],
      ['set_user_tags', 'alice', 'a'],
    ]) {
      const r = await ctl(...args)
      assert.equal(r.code, 1, args.join(' '))
      assert.equal(r.stderr, "warrenctl: user 'alice' not found\n")
    }
  })

  test(
    'vhosts and permissions: add_vhost, list_vhosts, set_permissions, set_topic_permissions, clear_permissions, delete_vhost',
    T,
    async () => {
      await ok('add_vhost', 'staging', '--description', 'for tests')
      assert.equal((await api('/api/vhosts/staging')).body.description, 'for tests')
      assert.equal(await ok('list_vhosts', '-q'), 'name\n/\nstaging\n')
      const vhosts = JSON.parse(await ok('list_vhosts', '--format', 'json', 'name', 'description')) as Body[]
      assert.deepEqual(
        vhosts.map((v: Body) => v.name),
        ['/', 'staging'],
      )
      assert.deepEqual(vhosts[1], { name: 'staging', description: 'for tests' })

      await ok('add_user', 'bob', 'pw')
      assert.equal(
        await ok('set_permissions', '-p', 'staging', 'bob', '^bob-.*', '.*', '^$'),
        'Setting permissions for user "bob" in vhost "staging" ...\n',
      )
      const perm = (await api('/api/permissions/staging/bob')).body
      assert.deepEqual([perm.configure, perm.write, perm.read], ['^bob-.*', '.*', '^$'])
      assert.equal(
        await ok('list_permissions', '-p', 'staging', '-q'),
        // guest made the vhost, so it has every permission there (as RabbitMQ's API gives them)
        'user   configure  write  read\nguest  .*         .*     .*\nbob    ^bob-.*    .*     ^$\n',
      )
      // bob can now open the vhost with amqplib
      const conn = await amqp.connect(`amqp://bob:pw@127.0.0.1:${broker.port}/staging`)
      await conn.close()

      for (const [vhost, user] of [
        ['nowhere', 'bob'],
        ['staging', 'nobody'],
      ] as const) {
        for (const command of [
          ['set_permissions', '.*', '.*', '.*'],
          ['set_topic_permissions', 'amq.topic', '.*', '.*'],
        ]) {
          const r = await ctl(command[0]!, '-p', vhost, user, ...command.slice(1))
          assert.deepEqual([r.code, r.stderr], [1, `warrenctl: vhost '${vhost}' or user '${user}' not found\n`])
        }
      }
      await ok('set_topic_permissions', '-p', 'staging', 'bob', 'amq.topic', '^bob\\.', '.*')
      assert.deepEqual(JSON.parse(await ok('list_topic_permissions', '-p', 'staging', '--format', 'json')), [
        { user: 'bob', exchange: 'amq.topic', write: '^bob\\.', read: '.*' },
      ])

      await ok('clear_permissions', '-p', 'staging', 'bob')
      assert.equal((await api('/api/permissions/staging/bob')).status, 404)
      const cleared = await ctl('clear_permissions', '-p', 'staging', 'bob')
      assert.equal(cleared.code, 1)
      assert.equal(cleared.stderr, "warrenctl: permissions of user 'bob' in vhost 'staging' not found\n")

      await ok('delete_vhost', 'staging')
      assert.equal((await api('/api/vhosts/staging')).status, 404)
      const gone = await ctl('delete_vhost', 'staging')
      assert.deepEqual([gone.code, gone.stderr], [1, "warrenctl: vhost 'staging' not found\n"])
      const listGone = await ctl('list_queues', '-p', 'staging')
      assert.deepEqual([listGone.code, listGone.stderr], [1, "warrenctl: vhost 'staging' not found\n"])
      await ok('delete_user', 'bob')
    },
  )

  test('purge_queue and delete_queue, with --if-empty', T, async () => {
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${broker.port}`)
    try {
      const ch = await conn.createChannel()
      await ch.assertQueue('to-purge')
      ch.sendToQueue('to-purge', Buffer.from('a'))
      ch.sendToQueue('to-purge', Buffer.from('b'))
      assert.equal((await ch.checkQueue('to-purge')).messageCount, 2)

      const refused = await ctl('delete_queue', 'to-purge', '--if-empty')
      assert.equal(refused.code, 1)
      assert.match(refused.stderr, /^warrenctl: .*refused \(400\): .+\n$/)
      assert.equal(await ok('purge_queue', 'to-purge'), "Purging queue 'to-purge' in vhost '/' ...\n")
      assert.equal((await ch.checkQueue('to-purge')).messageCount, 0)
      await ok('delete_queue', 'to-purge', '--if-empty')
      assert.equal((await api('/api/queues/%2F/to-purge')).status, 404)
    } finally {
      await conn.close()
    }
    for (const command of ['purge_queue', 'delete_queue']) {
      const r = await ctl(command, 'to-purge')
      assert.deepEqual([r.code, r.stderr], [1, "warrenctl: queue 'to-purge' in vhost '/' not found\n"])
    }
  })

  test('export_definitions and import_definitions, through a file and through stdout/stdin', T, async () => {
    await ok('add_vhost', 'defs')
    await ok('add_user', 'carol', 'pw', '--tags', 'management')
    const file = join(work, 'definitions.json')
    assert.equal(await ok('export_definitions', file), `Exported definitions to ${file}\n`)
    const exported = JSON.parse(await readFile(file, 'utf8')) as Body
    assert.ok(exported.users.some((u: Body) => u.name === 'carol'))
    assert.ok(exported.vhosts.some((v: Body) => v.name === 'defs'))
    assert.deepEqual(JSON.parse(await ok('export_definitions', '-')), exported)

    await ok('delete_user', 'carol')
    await ok('delete_vhost', 'defs')
    await ok('import_definitions', file)
    assert.deepEqual((await api('/api/users/carol')).body.tags, ['management'])
    assert.equal((await api('/api/vhosts/defs')).status, 200)

    const viaStdin = await warrenctl(url, ['import_definitions', '-'], JSON.stringify({ vhosts: [{ name: 'piped' }] }))
    assert.deepEqual([viaStdin.code, viaStdin.stderr], [0, ''])
    assert.equal((await api('/api/vhosts/piped')).status, 200)

    const bad = join(work, 'bad.json')
    await writeFile(bad, '{not json')
    const r = await ctl('import_definitions', bad)
    assert.equal(r.code, 64)
    assert.match(r.stderr, /^warrenctl: .*bad\.json is not valid JSON: .+\n$/)
    const missing = await ctl('import_definitions', join(work, 'none.json'))
    assert.equal(missing.code, 64)
    assert.match(missing.stderr, /^warrenctl: cannot read .*none\.json: ENOENT/)
  })

  test('errors: usage (64), access refused (77), unreachable (69), and --help (0)', T, async () => {
    const unknown = await ctl('list_queuez')
    assert.equal(unknown.code, 64)
    assert.match(unknown.stderr, /^warrenctl: unknown command 'list_queuez'\n\(Did you mean list_queues\?\)\n$/)

    const missing = await ctl('add_user', 'only-name')
    assert.deepEqual([missing.code, missing.stderr], [64, "warrenctl: missing required argument 'password'\n"])

    const format = await ctl('list_queues', '--format', 'xml')
    assert.equal(format.code, 64)
    assert.match(format.stderr, /^warrenctl: option '--format <format>' argument 'xml' is invalid/)

    const column = await ctl('list_users', 'user', 'shoe_size')
    assert.equal(column.code, 64)
    assert.match(column.stderr, /^warrenctl: unknown column shoe_size \(known: .*name.*\)\n$/)

    const badPolicy = await ctl('set_policy', 'p', '.*', '{max-length: 1}')
    assert.equal(badPolicy.code, 64)
    assert.match(badPolicy.stderr, /^warrenctl: policy definition is not valid JSON/)

    const wrong = await ctl('--password', 'wrong', 'list_queues')
    assert.equal(wrong.code, 77)
    assert.equal(wrong.stderr, `warrenctl: access refused for user 'guest' at ${url}: Login failed\n`)
    assert.equal(wrong.stdout, '')

    // A port nothing listens on (one just freed: fetch refuses well-known ones such as 9)
    const freePort = await closedPort()
    const closed = await warrenctl(`http://127.0.0.1:${freePort}`, ['status'])
    assert.equal(closed.code, 69)
    assert.equal(
      closed.stderr,
      `warrenctl: cannot reach the management API at http://127.0.0.1:${freePort}: ECONNREFUSED\n`,
    )

    const help = await ctl('--help')
    assert.equal(help.code, 0)
    assert.match(help.stdout, /^Usage: warrenctl \[options\] \[command\]/)
    for (const command of ['status', 'list_queues', 'add_user', 'set_policy', 'import_definitions']) {
      assert.match(help.stdout, new RegExp(`^  ${command} `, 'm'))
    }
    const commandHelp = await ctl('help', 'delete_queue')
    assert.equal(commandHelp.code, 0)
    assert.match(commandHelp.stdout, /--if-empty/)
    const version = await ctl('--version')
    assert.deepEqual([version.code, version.stdout], [0, '0.1.0\n'])
  })
})
