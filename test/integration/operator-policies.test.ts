// Operator policies through the management API (/api/operator-policies), as RabbitMQ 3.10.8 has them: only
// the limit keys, applied at once to existing queues together with the user policy (the smaller limit
// wins), kept across a restart and exported with the definitions as parameters of the component
// operator_policy (checked against a private RabbitMQ with curl; the shapes are also judged by
// test/differential/management-api.test.ts).
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import amqp from 'amqplib'
import { startBroker, type WarrenBroker } from '../../src/index.js'
import { apiClient, type Body } from '../helpers/management-http.js'

const dirs: string[] = []
const brokers: WarrenBroker[] = []
after(async () => {
  await Promise.all(brokers.map((b) => b.close()))
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

async function start(dataDir?: string, definitions?: string): Promise<WarrenBroker> {
  const broker = await startBroker({
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    managementPort: 0,
    ...(dataDir === undefined ? {} : { dataDir }),
    ...(definitions === undefined ? {} : { definitions }),
  })
  brokers.push(broker)
  return broker
}

const apiOf = (b: WarrenBroker) => apiClient(() => `http://127.0.0.1:${b.managementPort}`)

async function depth(b: WarrenBroker, queue: string, publish: number): Promise<number> {
  const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${b.port}/`)
  const ch = await conn.createConfirmChannel()
  for (let i = 0; i < publish; i++) ch.sendToQueue(queue, Buffer.from(`m${i}`))
  await ch.waitForConfirms()
  const { messageCount } = await ch.checkQueue(queue)
  await conn.close()
  return messageCount
}

async function declare(b: WarrenBroker, queue: string, args: Record<string, unknown> = {}): Promise<void> {
  const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${b.port}/`)
  const ch = await conn.createChannel()
  await ch.assertQueue(queue, { durable: true, arguments: args })
  await ch.purgeQueue(queue)
  await conn.close()
}

test('an operator policy caps existing queues at once; the smaller of it and the user policy wins', async () => {
  const b = await start()
  const call = apiOf(b)
  await declare(b, 'capped')
  await declare(b, 'capped-arg', { 'x-max-length': 10 })
  await declare(b, 'capped-user')
  const put = await call('PUT', '/api/operator-policies/%2F/cap', {
    pattern: '^capped',
    definition: { 'max-length': 3 },
    'apply-to': 'queues',
  })
  assert.equal(put.status, 201)
  assert.equal(
    (
      await call('PUT', '/api/operator-policies/%2F/cap', {
        pattern: '^capped',
        definition: { 'max-length': 3 },
        'apply-to': 'queues',
      })
    ).status,
    204,
  )
  // A user policy with a smaller limit for one queue, a larger one for another
  await call('PUT', '/api/policies/%2F/user', { pattern: '^capped-user', definition: { 'max-length': 2 } })
  assert.equal(await depth(b, 'capped', 5), 3)
  assert.equal(await depth(b, 'capped-arg', 12), 3, "the queue's own x-max-length 10 does not lift the cap")
  assert.equal(await depth(b, 'capped-user', 5), 2)

  const queue = (await call('GET', '/api/queues/%2F/capped-user')).json as Body
  assert.equal(queue.policy, 'user')
  assert.equal(queue.operator_policy, 'cap')
  assert.deepEqual(queue.effective_policy_definition, { 'max-length': 2 })
  const got = (await call('GET', '/api/operator-policies/%2F/cap')).json as Body
  assert.deepEqual(got, {
    vhost: '/',
    name: 'cap',
    pattern: '^capped',
    'apply-to': 'queues',
    definition: { 'max-length': 3 },
    priority: 0,
  })
  assert.deepEqual(
    ((await call('GET', '/api/operator-policies')).json as Body[]).map((p) => p.name),
    ['cap'],
  )
  assert.deepEqual(
    ((await call('GET', '/api/policies')).json as Body[]).map((p) => p.name),
    ['user'],
  )

  // Cleared: the queue takes messages again up to the user policy (none for capped)
  assert.equal((await call('DELETE', '/api/operator-policies/%2F/cap')).status, 204)
  assert.equal((await call('DELETE', '/api/operator-policies/%2F/cap')).status, 404)
  assert.equal(await depth(b, 'capped', 2), 5)
})

test('operator policies refuse what RabbitMQ refuses, with its texts', async () => {
  const b = await start()
  const call = apiOf(b)
  const refused = await call('PUT', '/api/operator-policies/%2F/bad', {
    pattern: '.*',
    definition: { overflow: 'reject-publish' },
  })
  assert.equal(refused.status, 400)
  assert.deepEqual(refused.json, {
    error: 'bad_request',
    reason: 'Validation failed\n\n[{<<"overflow">>,<<"reject-publish">>}] are not recognised policy settings\n',
  })
  const negative = await call('PUT', '/api/operator-policies/%2F/bad', {
    pattern: '.*',
    definition: { 'max-length': -1 },
  })
  assert.equal(negative.status, 400)
  assert.deepEqual(negative.json, {
    error: 'bad_request',
    reason: 'Validation failed\n\n-1 is not a valid maximum length\n',
  })
  // Keys of quorum queues are kept (and exported) though Warren's classic queues have no use for them
  const kept = await call('PUT', '/api/operator-policies/%2F/quorum', {
    pattern: '.*',
    definition: { 'delivery-limit': 5, 'max-in-memory-length': 10 },
  })
  assert.equal(kept.status, 201)
  assert.equal((await call('GET', '/api/operator-policies/nosuch')).status, 404)
  assert.equal((await call('PUT', '/api/operator-policies/nosuch/p', { pattern: '.*', definition: {} })).status, 404)
})

test('operator policies survive a restart and go through a definitions export and import', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'warren-oppol-'))
  dirs.push(dir)
  const first = await start(join(dir, 'data'))
  await apiOf(first)('PUT', '/api/operator-policies/%2F/cap', {
    pattern: '^q',
    definition: { 'message-ttl': 1000 },
    priority: 2,
  })
  // A user policy of the same name is another policy
  await apiOf(first)('PUT', '/api/policies/%2F/cap', { pattern: '^q', definition: { 'max-length': 9 } })
  const exported = (await apiOf(first)('GET', '/api/definitions')).json as Body
  assert.deepEqual(exported.parameters, [
    {
      vhost: '/',
      component: 'operator_policy',
      name: 'cap',
      value: { pattern: '^q', 'apply-to': 'all', definition: { 'message-ttl': 1000 }, priority: 2 },
    },
  ])
  await first.close()
  brokers.splice(brokers.indexOf(first), 1)

  const again = await start(join(dir, 'data'))
  const listed = (await apiOf(again)('GET', '/api/operator-policies/%2F')).json as Body[]
  assert.deepEqual(
    listed.map((p) => [p.name, p.definition]),
    [['cap', { 'message-ttl': 1000 }]],
  )
  assert.deepEqual(
    ((await apiOf(again)('GET', '/api/policies/%2F')).json as Body[]).map((p) => p.definition),
    [{ 'max-length': 9 }],
  )

  const file = join(dir, 'definitions.json')
  await writeFile(file, JSON.stringify(exported))
  const imported = await start(undefined, file)
  const importedList = (await apiOf(imported)('GET', '/api/operator-policies')).json as Body[]
  assert.deepEqual(
    importedList.map((p) => [p.name, p.priority, p.definition]),
    [['cap', 2, { 'message-ttl': 1000 }]],
  )
})
