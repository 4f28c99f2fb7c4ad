// The management API judged by RabbitMQ 3.10.8 with rabbitmq_management: the same topology is built on a
// private RabbitMQ and on a Warren (over AMQP with amqplib and through the API), then the same requests go to
// both, and each answer's status code, content type and JSON shape (keys, recursively, and value types; not
// values) must be RabbitMQ's. What Warren deliberately lacks is in ALLOWED below, each with its reason.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import amqp, { type Channel, type ChannelModel } from 'amqplib'
import { startBroker, type WarrenBroker } from '../../src/index.js'
import { startRabbitMq, type RabbitMq } from './rabbitmq.js'
import { apiClient, basicAuth, type ApiReply, type Body } from '../helpers/management-http.js'
import { shapeDifferences, shapeOf } from './json-shape.js'

const T = { timeout: 120_000 }

interface Target {
  name: 'rabbitmq' | 'warren'
  amqpUrl: (vhost: string, user?: string) => string
  call: ReturnType<typeof apiClient>
  amqpPort: number
  /** Filled in as the topology is built: names that differ between the two (connection, channel, node) */
  names: Record<string, string>
  connections: ChannelModel[]
}

let rabbit: RabbitMq | undefined
let warren: WarrenBroker | undefined
const targets: Target[] = []

const ALICE = basicAuth('alice', 'alice-pw')
const MON = basicAuth('mon', 'mon-pw')
const NOBODY = basicAuth('nobody', 'nobody-pw')

/**
 * What Warren deliberately answers differently, each entry a gap a user could hit: `request` matches
 * "METHOD /path" (the path as requested, placeholders filled in), `field` the difference's path in the
 * JSON (as shapeDifferences prints it).
 */
const ALLOWED: { request: RegExp; field: RegExp; reason: string }[] = [
  {
    // Counters of the Erlang VM and of RabbitMQ's internals, which a Node.js process does not have
    request: /./,
    field:
      /\.(garbage_collection|reductions(_details)?|run_queue|erlang_version|erlang_full_version|net_ticktime|ra_open_file_metrics|metrics_gc_queue_length|applications|auth_mechanisms|log_files|config_files|cluster_links|statistics_db_event_queue|pending_raft_commands|recoverable_slaves|backing_queue_status|memory|(proc|fd|sockets)_(total|used)(_details)?|(gc_num|gc_bytes_reclaimed|context_switches)(_details)?|(io|mnesia|msg_store|queue_index)_\w+|socket_opts|cowboy_opts|sample_retention_policies|disable_stats|enable_queue_totals|release_series_support_status): missing/,
    reason: "the Erlang VM's and RabbitMQ's internals",
  },
  {
    // A vhost's cluster_state is keyed by node name: the two nodes' names differ, not the shape
    request: /vhosts/,
    field: /\.cluster_state\.[^:]+: (missing|extra)/,
    reason: 'keyed by node name',
  },
  {
    // RabbitMQ leaves the message counts and stats out for a vhost whose queues it has no samples of yet
    request: /^GET \/api\/vhosts$/,
    field: /\[\]\.(messages\w*|message_stats): in every element/,
    reason: 'Warren counts every vhost at once',
  },
  {
    // RabbitMQ lists its management UI's plugin scripts; Warren's UI loads none
    request: /^GET \/api\/extensions$/,
    field: /^: empty/,
    reason: 'no UI plugins',
  },
]

function target(name: Target['name'], host: string, amqpPort: number, managementPort: number): Target {
  return {
    name,
    amqpPort,
    amqpUrl: (vhost, user = 'guest:guest') => `amqp://${user}@${host}:${amqpPort}/${encodeURIComponent(vhost)}`,
    call: apiClient(() => `http://${host}:${managementPort}`),
    names: {},
    connections: [],
  }
}

async function must(t: Target, method: string, path: string, body?: unknown): Promise<Body> {
  const reply = await t.call(method, path, body)
  assert.ok(reply.status < 300, `${t.name}: ${method} ${path}: ${reply.status} ${reply.text}`)
  return reply.json
}

/** The same topology on both brokers */
async function build(t: Target): Promise<void> {
  await must(t, 'PUT', '/api/vhosts/shop', { description: 'the shop', tags: 'production' })
  await must(t, 'PUT', '/api/users/alice', { password: 'alice-pw', tags: 'management' })
  await must(t, 'PUT', '/api/users/mon', { password: 'mon-pw', tags: 'monitoring' })
  await must(t, 'PUT', '/api/users/nobody', { password: 'nobody-pw', tags: '' })
  await must(t, 'PUT', '/api/permissions/shop/guest', { configure: '.*', write: '.*', read: '.*' })
  await must(t, 'PUT', '/api/permissions/shop/alice', { configure: '^alice-', write: '.*', read: '.*' })
  await must(t, 'PUT', '/api/permissions/shop/mon', { configure: '', write: '', read: '.*' })
  await must(t, 'PUT', '/api/topic-permissions/shop/alice', { exchange: 'amq.topic', write: '^a\\.', read: '.*' })
  await must(t, 'PUT', '/api/vhost-limits/shop/max-connections', { value: 50 })
  await must(t, 'PUT', '/api/user-limits/alice/max-channels', { value: 10 })
  await must(t, 'PUT', '/api/policies/shop/ttl', {
    pattern: '^orders',
    definition: { 'message-ttl': 60000 },
    priority: 1,
    'apply-to': 'queues',
  })
  await must(t, 'PUT', '/api/operator-policies/shop/cap', {
    pattern: '^orders',
    definition: { 'max-length': 1000 },
    priority: 0,
    'apply-to': 'queues',
  })

  // Named by its client, as most clients allow: RabbitMQ lists the name as user_provided_name
  const conn = await amqp.connect(t.amqpUrl('shop'), { clientProperties: { connection_name: 'orders-service' } })
  t.connections.push(conn)
  const ch: Channel = await conn.createChannel()
  await ch.assertExchange('orders-x', 'topic', { durable: true })
  await ch.assertExchange('audit', 'fanout', { durable: true })
  await ch.bindExchange('audit', 'orders-x', '#')
  await ch.assertQueue('orders', { durable: true })
  await ch.bindQueue('orders', 'orders-x', 'orders.#')
  for (let i = 0; i < 3; i++) ch.publish('orders-x', 'orders.new', Buffer.from(`order ${i}`), { persistent: true })
  // One delivery held unacked, two ready
  const consuming = await conn.createChannel()
  await consuming.prefetch(1)
  await consuming.consume('orders', () => {}, { consumerTag: 'orders-consumer' })
  // A single-active-consumer queue: one consumer active, the other waiting
  await ch.assertQueue('sac', { durable: true, arguments: { 'x-single-active-consumer': true } })
  await ch.consume('sac', () => {}, { consumerTag: 'sac-1' })
  await ch.consume('sac', () => {}, { consumerTag: 'sac-2' })
  const aliceConn = await amqp.connect(t.amqpUrl('shop', 'alice:alice-pw'))
  t.connections.push(aliceConn)
}

/**
 * RabbitMQ collects statistics every second here (statsIntervalMs): connections, channels, consumers and
 * message_stats appear after a collection. Waits (bounded) until the objects compared have them.
 */
async function statisticsCollected(t: Target): Promise<void> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const queue = (await t.call('GET', '/api/queues/shop/orders')).json as Body
    const exchange = (await t.call('GET', '/api/exchanges/shop/orders-x')).json as Body
    const channels = (await t.call('GET', '/api/channels')).json as Body[]
    const consumers = (await t.call('GET', '/api/consumers')).json as Body[]
    const overview = (await t.call('GET', '/api/overview')).json as Body
    const ready =
      queue?.message_stats?.deliver_get !== undefined &&
      queue?.messages_unacknowledged === 1 &&
      exchange?.message_stats?.publish_in !== undefined &&
      channels.length === 2 &&
      channels.every((c) => c.message_stats !== undefined) &&
      consumers.length === 3 &&
      overview?.message_stats?.publish !== undefined
    if (ready) return
    if (Date.now() > deadline) throw new Error(`${t.name}: statistics not collected within 20 s`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/** The names that differ between the two brokers (connection, channel, node), for the probes' paths */
async function learnNames(t: Target): Promise<void> {
  const connections = (await must(t, 'GET', '/api/connections')) as Body[]
  const guestConnection = connections.find((c) => c.user === 'guest')
  if (!guestConnection) throw new Error(`${t.name}: no connection of guest listed yet`)
  t.names['conn'] = encodeURIComponent(guestConnection.name)
  t.names['channel'] = encodeURIComponent(`${guestConnection.name as string} (1)`)
  const nodes = (await must(t, 'GET', '/api/nodes')) as Body[]
  t.names['node'] = encodeURIComponent(nodes[0].name)
  const bindings = (await must(t, 'GET', '/api/bindings/shop/e/orders-x/q/orders')) as Body[]
  t.names['props'] = encodeURIComponent(bindings[0].properties_key)
}

interface Probe {
  method: string
  /** `{conn}`, `{channel}`, `{node}`, `{props}`, `{amqpPort}` are filled in per broker */
  path: string
  body?: unknown
  auth?: string
}

const get = (path: string, auth?: string): Probe => ({ method: 'GET', path, ...(auth ? { auth } : {}) })

const PROBES: Probe[] = [
  get('/api/overview'),
  get('/api/overview', ALICE),
  get('/api/cluster-name'),
  get('/api/nodes'),
  get('/api/nodes/{node}'),
  get('/api/extensions'),
  get('/api/whoami'),
  get('/api/definitions'),
  get('/api/definitions/shop'),
  get('/api/connections'),
  get('/api/connections', ALICE),
  get('/api/vhosts/shop/connections'),
  get('/api/connections/{conn}'),
  get('/api/connections/{conn}/channels'),
  get('/api/channels'),
  get('/api/vhosts/shop/channels'),
  get('/api/channels/{channel}'),
  get('/api/consumers'),
  get('/api/consumers/shop'),
  get('/api/exchanges'),
  get('/api/exchanges/shop'),
  get('/api/exchanges/shop/orders-x'),
  get('/api/exchanges/shop/amq.default'),
  get('/api/exchanges/shop/orders-x/bindings/source'),
  get('/api/exchanges/shop/audit/bindings/destination'),
  get('/api/queues'),
  get('/api/queues/shop'),
  get('/api/queues/shop/orders'),
  get('/api/queues/shop/sac'),
  get('/api/queues/shop/orders/bindings'),
  get('/api/bindings'),
  get('/api/bindings/shop'),
  get('/api/bindings/shop/e/orders-x/q/orders'),
  get('/api/bindings/shop/e/orders-x/q/orders/{props}'),
  get('/api/bindings/shop/e/orders-x/e/audit'),
  get('/api/vhosts'),
  get('/api/vhosts', ALICE),
  get('/api/vhosts/shop'),
  get('/api/vhosts/shop/permissions'),
  get('/api/vhosts/shop/topic-permissions'),
  get('/api/users'),
  get('/api/users/alice'),
  get('/api/users/alice/permissions'),
  get('/api/users/alice/topic-permissions'),
  get('/api/permissions'),
  get('/api/permissions/shop/alice'),
  get('/api/topic-permissions'),
  get('/api/topic-permissions/shop/alice'),
  get('/api/parameters'),
  get('/api/parameters/vhost-limits'),
  get('/api/parameters/vhost-limits/shop'),
  get('/api/parameters/federation-upstream'),
  get('/api/parameters/federation-upstream/shop'),
  get('/api/parameters/federation-upstream/shop/nothing'),
  get('/api/global-parameters'),
  get('/api/global-parameters/nothing'),
  get('/api/policies'),
  get('/api/policies/shop'),
  get('/api/policies/shop/ttl'),
  get('/api/operator-policies'),
  get('/api/operator-policies/shop'),
  get('/api/operator-policies/shop/cap'),
  get('/api/vhost-limits'),
  get('/api/vhost-limits/shop'),
  get('/api/user-limits'),
  get('/api/user-limits/alice'),
  get('/api/aliveness-test/shop'),
  get('/api/health/checks/alarms'),
  get('/api/health/checks/local-alarms'),
  get('/api/health/checks/virtual-hosts'),
  get('/api/health/checks/port-listener/{amqpPort}'),
  get('/api/health/checks/port-listener/1'),

  // Writes, each answered as RabbitMQ answers it
  { method: 'PUT', path: '/api/queues/shop/scratch', body: { durable: true } },
  { method: 'PUT', path: '/api/queues/shop/scratch', body: { durable: true } },
  { method: 'POST', path: '/api/bindings/shop/e/orders-x/q/scratch', body: { routing_key: 's' } },
  {
    method: 'POST',
    path: '/api/exchanges/shop/orders-x/publish',
    body: { properties: {}, routing_key: 's', payload: 'hi', payload_encoding: 'string' },
  },
  {
    method: 'POST',
    path: '/api/queues/shop/scratch/get',
    body: { count: 1, ackmode: 'ack_requeue_true', encoding: 'auto' },
  },
  { method: 'DELETE', path: '/api/queues/shop/scratch/contents' },
  { method: 'DELETE', path: '/api/queues/shop/scratch' },
  { method: 'PUT', path: '/api/exchanges/shop/scratch-x', body: { type: 'direct' } },
  { method: 'DELETE', path: '/api/exchanges/shop/scratch-x' },
  { method: 'PUT', path: '/api/policies/shop/p2', body: { pattern: '^p2', definition: { expires: 60000 } } },
  { method: 'DELETE', path: '/api/policies/shop/p2' },
  {
    method: 'PUT',
    path: '/api/operator-policies/shop/op2',
    body: { pattern: '^p2', definition: { 'max-length': 5 }, 'apply-to': 'queues' },
  },
  get('/api/operator-policies/shop/op2'),
  { method: 'DELETE', path: '/api/operator-policies/shop/op2' },
  { method: 'DELETE', path: '/api/operator-policies/shop/op2' },
  { method: 'PUT', path: '/api/global-parameters/colour', body: { value: 'blue' } },
  get('/api/global-parameters/colour'),
  { method: 'DELETE', path: '/api/global-parameters/colour' },
  { method: 'PUT', path: '/api/global-parameters/colour', body: {} },
  { method: 'PUT', path: '/api/parameters/federation-upstream/shop/up', body: { value: { uri: 'amqp://' } } },
  { method: 'DELETE', path: '/api/parameters/federation-upstream/shop/up' },
  { method: 'PUT', path: '/api/vhost-limits/shop/max-queues', body: { value: 100 } },
  { method: 'DELETE', path: '/api/vhost-limits/shop/max-queues' },
  { method: 'PUT', path: '/api/user-limits/alice/max-connections', body: { value: 5 } },
  { method: 'PUT', path: '/api/cluster-name', body: { name: 'judged' } },
  get('/api/cluster-name'),

  // Errors
  get('/api/nosuch'),
  { method: 'POST', path: '/api/overview' },
  get('/api/queues/nosuch'),
  get('/api/queues/nosuch/orders'),
  get('/api/queues/shop/nosuch'),
  get('/api/exchanges/shop/nosuch'),
  get('/api/vhosts/nosuch'),
  get('/api/users/nosuch'),
  get('/api/policies/shop/nosuch'),
  get('/api/connections/nosuch'),
  get('/api/channels/nosuch'),
  get('/api/nodes/nosuch@nowhere'),
  get('/api/user-limits/nosuch'),
  { method: 'PUT', path: '/api/user-limits/nosuch/max-connections', body: { value: 1 } },
  { method: 'DELETE', path: '/api/user-limits/nosuch/max-connections' },
  { method: 'PUT', path: '/api/queues/shop/bad', body: '{not json' },
  { method: 'PUT', path: '/api/policies/shop/bad', body: { pattern: '.*' } },
  { method: 'PUT', path: '/api/operator-policies/shop/bad', body: { pattern: '.*', definition: { 'x-nope': 1 } } },
  get('/api/overview', ''),
  get('/api/overview', basicAuth('guest', 'wrong')),
  get('/api/overview', NOBODY),
  get('/api/users', MON),
  get('/api/definitions', ALICE),
  get('/api/queues/shop/orders', MON),
  { method: 'PUT', path: '/api/queues/shop/by-mon', body: { durable: false }, auth: MON },
  { method: 'PUT', path: '/api/policies/shop/by-mon', body: { pattern: '.*', definition: {} }, auth: MON },
  { method: 'PUT', path: '/api/queues/shop/not-alices', body: { durable: false }, auth: ALICE },
  { method: 'DELETE', path: '/api/connections/{conn}', auth: MON },
  { method: 'DELETE', path: '/api/connections/{conn}' },
]

const userOf = (auth: string): string =>
  auth === '' ? 'nobody (no credentials)' : Buffer.from(auth.slice(6), 'base64').toString().replace(/:.*/, '')

function fill(t: Target, path: string): string {
  return path
    .replace('{amqpPort}', String(t.amqpPort))
    .replace(/\{(\w+)\}/g, (_, name: string) => t.names[name] ?? `{${name}}`)
}

/** What differs between RabbitMQ's answer and Warren's, as lines; empty if they agree */
function differences(probe: Probe, expected: ApiReply, actual: ApiReply): string[] {
  const out: string[] = []
  if (expected.status !== actual.status) out.push(`status ${actual.status}, expected ${expected.status}`)
  const type = (r: ApiReply) => r.headers.get('content-type') ?? '(none)'
  if (type(expected) !== type(actual)) out.push(`content-type ${type(actual)}, expected ${type(expected)}`)
  if (expected.text !== '' && actual.text !== '' && type(expected).includes('json')) {
    for (const line of shapeDifferences(shapeOf(expected.json), shapeOf(actual.json))) {
      const request = `${probe.method} ${probe.path}`
      if (!ALLOWED.some((a) => a.request.test(request) && a.field.test(line))) out.push(line)
    }
  } else if ((expected.text === '') !== (actual.text === '')) {
    out.push(`body ${actual.text === '' ? 'empty' : actual.text}, expected ${expected.text || 'empty'}`)
  }
  return out
}

before(async () => {
  const [r, w] = await Promise.all([
    startRabbitMq({ management: true, statsIntervalMs: 1000 }),
    startBroker({ port: 0, host: '127.0.0.1', logLevel: 'silent', managementPort: 0 }),
  ])
  rabbit = r
  warren = w
  targets.push(target('rabbitmq', '127.0.0.1', r.port, r.managementPort!))
  targets.push(target('warren', '127.0.0.1', w.port, w.managementPort!))
  await Promise.all(targets.map(build))
  // Warren's are there at once; a missing one is a difference the test reports
  await statisticsCollected(targets[0]!)
  await Promise.all(targets.map(learnNames))
})

after(async () => {
  for (const t of targets) for (const c of t.connections) await c.close().catch(() => {})
  await warren?.close()
  await rabbit?.stop()
})

test("every answer has RabbitMQ's status, content type and JSON shape", T, async () => {
  const [reference, checked] = targets as [Target, Target]
  const report: string[] = []
  for (const probe of PROBES) {
    const replies = []
    for (const t of [reference, checked])
      replies.push(await t.call(probe.method, fill(t, probe.path), probe.body, probe.auth))
    const lines = differences(probe, replies[0]!, replies[1]!)
    if (lines.length > 0)
      report.push(
        `${probe.method} ${probe.path}${probe.auth === undefined ? '' : ` as ${userOf(probe.auth)}`}`,
        ...lines.map((l) => `    ${l}`),
      )
  }
  assert.equal(report.length, 0, `Warren differs from RabbitMQ 3.10.8:\n${report.join('\n')}`)
})
