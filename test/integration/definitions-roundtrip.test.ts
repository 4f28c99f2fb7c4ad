// A definitions export from Warren (GET /api/definitions) is loaded by RabbitMQ 3.10 at boot, exported again
// by rabbitmqctl, and imported back into a fresh Warren: nothing is lost or changed on the way, so an
// operator can move between the two in either direction.
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import amqp from 'amqplib'
import { startBroker, type WarrenBroker } from '../../src/index.js'
import { startRabbitMq, type RabbitMq } from '../differential/rabbitmq.js'
import { apiClient, type Body } from '../helpers/management-http.js'

const T = { timeout: 120_000 }

let rabbit: RabbitMq | undefined
const brokers: WarrenBroker[] = []
let dir: string | undefined
after(async () => {
  await Promise.all(brokers.map((b) => b.close()))
  await rabbit?.stop()
  if (dir && process.env['KEEP'] === undefined) await rm(dir, { recursive: true, force: true })
})

async function api(broker: WarrenBroker, method: string, path: string, body?: unknown): Promise<Body> {
  const reply = await apiClient(() => `http://127.0.0.1:${broker.managementPort}`)(method, path, body)
  assert.ok(reply.status < 300, `${method} ${path}: ${reply.status} ${reply.text}`)
  return reply.json
}

type Definitions = Record<string, Record<string, unknown>[] | unknown>

/** The entities of an export, each reduced to what both brokers must agree on, in a stable order */
function comparable(defs: Definitions) {
  const list = (key: string) => (defs[key] ?? []) as Record<string, unknown>[]
  const pick = (key: string, fields: string[]) =>
    list(key)
      .map((o) => JSON.stringify(fields.map((f) => o[f] ?? null)))
      .sort()
  const vhostLimits = list('parameters').filter((p) => p['component'] === 'vhost-limits')
  return {
    users: pick('users', ['name', 'password_hash', 'hashing_algorithm']),
    userTags: list('users')
      .map((u) => {
        const tags = u['tags']
        const sorted = (Array.isArray(tags) ? (tags as string[]) : String(tags).split(',')).filter((t) => t !== '')
        return JSON.stringify([u['name'], sorted.sort()])
      })
      .sort(),
    userLimits: list('users')
      .filter((u) => u['limits'] !== undefined && Object.keys(u['limits'] as object).length > 0)
      .map((u) => JSON.stringify([u['name'], u['limits']]))
      .sort(),
    vhosts: pick('vhosts', ['name']),
    vhostLimits: vhostLimits.map((p) => JSON.stringify([p['vhost'], p['value']])).sort(),
    permissions: pick('permissions', ['user', 'vhost', 'configure', 'write', 'read']),
    topicPermissions: pick('topic_permissions', ['user', 'vhost', 'exchange', 'write', 'read']),
    policies: pick('policies', ['vhost', 'name', 'pattern', 'apply-to', 'definition', 'priority']),
    // rabbitmqctl export_definitions (3.10) leaves `internal` out; both exchanges here are not internal
    exchanges: pick('exchanges', ['vhost', 'name', 'type', 'durable', 'auto_delete', 'arguments']),
    internal: list('exchanges')
      .filter((e) => e['internal'] === true)
      .map((e) => JSON.stringify([e['vhost'], e['name']]))
      .sort(),
    queues: pick('queues', ['vhost', 'name', 'durable', 'auto_delete', 'arguments']),
    bindings: pick('bindings', ['vhost', 'source', 'destination', 'destination_type', 'routing_key', 'arguments']),
  }
}

test('Warren → RabbitMQ 3.10 → Warren: users, vhosts, permissions, limits, policies, topology survive', T, async () => {
  const first = await startBroker({ port: 0, logLevel: 'silent', managementPort: 0, vhosts: ['shop'] })
  brokers.push(first)
  await api(first, 'PUT', '/api/users/alice', { password: 'alice-pw', tags: 'management,policymaker' })
  await api(first, 'PUT', '/api/permissions/shop/alice', { configure: '^alice-', write: '.*', read: '.*' })
  await api(first, 'PUT', '/api/topic-permissions/shop/alice', { exchange: 'amq.topic', write: '^a\\.', read: '.*' })
  await api(first, 'PUT', '/api/vhost-limits/shop/max-queues', { value: 10 })
  await api(first, 'PUT', '/api/user-limits/alice/max-connections', { value: 3 })
  await api(first, 'PUT', '/api/policies/shop/ttl', {
    pattern: '^orders',
    definition: { 'message-ttl': 60000 },
    priority: 1,
    'apply-to': 'queues',
  })
  const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${first.port}/shop`)
  const ch = await conn.createChannel()
  await ch.assertExchange('orders-x', 'topic', { durable: true })
  await ch.assertExchange('audit', 'fanout', { durable: true, arguments: { 'alternate-exchange': 'amq.fanout' } })
  await ch.assertQueue('orders', { durable: true, arguments: { 'x-max-length': 100, 'x-queue-mode': 'lazy' } })
  await ch.bindQueue('orders', 'orders-x', 'orders.#')
  await ch.bindExchange('audit', 'orders-x', '#')
  await conn.close()

  const exported = (await api(first, 'GET', '/api/definitions')) as Definitions
  // What was made is in the export (so the comparisons below compare something)
  const made = comparable(exported)
  assert.deepEqual(made.topicPermissions, ['["alice","shop","amq.topic","^a\\\\.",".*"]'])
  assert.deepEqual(made.userLimits, ['["alice",{"max-connections":3}]'])
  assert.deepEqual(made.vhostLimits, ['["shop",{"max-queues":10}]'])
  assert.equal(made.policies.length, 1)
  assert.equal(made.queues.length, 1)
  assert.equal(made.bindings.length, 2)
  assert.deepEqual(made.userTags, ['["alice",["management","policymaker"]]', '["guest",["administrator"]]'])
  rabbit = await startRabbitMq({ definitions: exported })
  dir = await mkdtemp(join(tmpdir(), 'warren-roundtrip-'))
  const fromRabbit = join(dir, 'from-rabbitmq.json')
  await rabbit.ctl('export_definitions', fromRabbit)
  const rabbitDefs = JSON.parse(await readFile(fromRabbit, 'utf8')) as Definitions
  assert.deepEqual(comparable(rabbitDefs), comparable(exported), 'RabbitMQ loaded everything Warren exported')

  const second = await startBroker({ port: 0, logLevel: 'silent', managementPort: 0, definitions: fromRabbit })
  brokers.push(second)
  const reimported = (await api(second, 'GET', '/api/definitions')) as Definitions
  assert.deepEqual(comparable(reimported), comparable(exported), "RabbitMQ's export imported back unchanged")
  // alice logs in to the second Warren with her password, carried as RabbitMQ's hash
  const alice = await amqp.connect(`amqp://alice:alice-pw@127.0.0.1:${second.port}/shop`)
  await alice.close()
  await writeFile(join(dir, 'done'), '')
})
