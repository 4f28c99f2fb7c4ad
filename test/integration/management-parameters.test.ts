// Runtime parameters, global parameters and the cluster name through the management API, values as
// RabbitMQ 3.10.8 answers them (checked with curl; the shapes are judged by
// test/differential/management-api.test.ts).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { startBroker, type WarrenBroker } from '../../src/index.js'
import { startManagementServer } from '../../src/management/api/server.js'
import { startBroker as startInProcessBroker } from '../helpers/broker.js'
import { apiClient, basicAuth, type Body } from '../helpers/management-http.js'

let broker: WarrenBroker
const call = apiClient(() => `http://127.0.0.1:${broker.managementPort}`)
before(async () => {
  broker = await startBroker({ port: 0, host: '127.0.0.1', logLevel: 'silent', managementPort: 0 })
})
after(() => broker.close())

test('PUT /api/cluster-name renames the cluster in the overview and the global parameters', async () => {
  assert.equal(((await call('GET', '/api/cluster-name')).json as Body).name, 'warren@localhost')
  assert.equal((await call('PUT', '/api/cluster-name', { name: 'blue' })).status, 204)
  assert.deepEqual((await call('GET', '/api/cluster-name')).json, { name: 'blue' })
  assert.equal(((await call('GET', '/api/overview')).json as Body).cluster_name, 'blue')
  const globals = (await call('GET', '/api/global-parameters')).json as Body[]
  assert.deepEqual(
    globals.map((g) => g.name),
    ['cluster_name', 'internal_cluster_id'],
  )
  assert.match(globals[1].value, /^rabbitmq-cluster-id-[\w-]{22}$/)
  assert.deepEqual(((await call('GET', '/api/definitions')).json as Body).global_parameters, globals)
  assert.deepEqual((await call('PUT', '/api/cluster-name', {})).json, {
    error: 'bad_request',
    reason: '[{key_missing,name}]',
  })
})

test('vhost limits are the parameter limits of the component vhost-limits; unknown components are refused', async () => {
  assert.equal(
    (await call('PUT', '/api/parameters/vhost-limits/%2F/limits', { value: { 'max-queues': 5 } })).status,
    201,
  )
  assert.deepEqual((await call('GET', '/api/vhost-limits/%2F')).json, [{ vhost: '/', value: { 'max-queues': 5 } }])
  assert.deepEqual((await call('GET', '/api/parameters/vhost-limits/%2F/limits')).json, {
    vhost: '/',
    component: 'vhost-limits',
    name: 'limits',
    value: { 'max-queues': 5 },
  })
  assert.equal((await call('DELETE', '/api/parameters/vhost-limits/%2F/limits')).status, 204)
  assert.deepEqual((await call('GET', '/api/parameters')).json, [])
  assert.deepEqual((await call('GET', '/api/parameters/federation-upstream/%2F')).json, [])
  assert.equal((await call('GET', '/api/parameters/federation-upstream/nosuch')).status, 404)
  const refused = await call('PUT', '/api/parameters/federation-upstream/%2F/up', { value: { uri: 'amqp://' } })
  assert.equal(refused.status, 400)
  assert.deepEqual(refused.json, {
    error: 'bad_request',
    reason: 'Validation failed\n\ncomponent federation-upstream not found\n',
  })
  // Operator policies are parameters too
  const viaParameter = await call('PUT', '/api/parameters/operator_policy/%2F/cap', {
    value: { pattern: '^q', definition: { 'max-length': 1 }, priority: 0 },
  })
  assert.equal(viaParameter.status, 201)
  assert.equal(((await call('GET', '/api/operator-policies/%2F/cap')).json as Body).pattern, '^q')
})

test('unknown nodes, limits of unknown users, and what monitoring users may not do, as RabbitMQ answers', async () => {
  const node = await call('GET', '/api/nodes/nosuch@nowhere')
  assert.equal(node.status, 500)
  assert.equal(node.text, '')
  const limits = await call('PUT', '/api/user-limits/nosuch/max-connections', { value: 1 })
  assert.deepEqual([limits.status, limits.json], [400, { error: 'bad_request', reason: ['no_such_user', 'nosuch'] }])
  await call('PUT', '/api/users/mon', { password: 'p', tags: 'monitoring' })
  assert.equal((await call('GET', '/api/global-parameters', undefined, basicAuth('mon', 'p'))).status, 401)
  assert.equal((await call('PUT', '/api/cluster-name', { name: 'x' }, basicAuth('mon', 'p'))).status, 401)
})

test('global parameters are stored with the definitions: cluster_name and internal_cluster_id survive a restart', async () => {
  let stored = await startInProcessBroker({ inProcess: true })
  let api = await startManagementServer(stored.broker, () => stored.connections, { port: 0, host: '127.0.0.1' })
  const on = apiClient(() => `http://127.0.0.1:${api.port}`)
  try {
    const id = ((await on('GET', '/api/global-parameters/internal_cluster_id')).json as Body).value as string
    assert.match(id, /^rabbitmq-cluster-id-[\w-]{22}$/)
    assert.equal((await on('PUT', '/api/cluster-name', { name: 'kept' })).status, 204)
    assert.equal((await on('PUT', '/api/global-parameters/colour', { value: { shade: ['blue', 2] } })).status, 201)
    assert.equal((await on('PUT', '/api/global-parameters/gone', { value: 1 })).status, 201)
    assert.equal((await on('DELETE', '/api/global-parameters/gone')).status, 204)
    // imported as RabbitMQ 3.10.8 imports them, from a definitions body
    const body = { global_parameters: [{ name: 'imported', value: 'yes' }] }
    assert.equal((await on('POST', '/api/definitions', body)).status, 204)
    await api.close()
    stored = await stored.restart()
    api = await startManagementServer(stored.broker, () => stored.connections, { port: 0, host: '127.0.0.1' })
    assert.deepEqual((await on('GET', '/api/global-parameters')).json, [
      { name: 'cluster_name', value: 'kept' },
      { name: 'colour', value: { shade: ['blue', 2] } },
      { name: 'imported', value: 'yes' },
      { name: 'internal_cluster_id', value: id },
    ])
    assert.equal(((await on('GET', '/api/overview')).json as Body).cluster_name, 'kept')
    assert.deepEqual(
      ((await on('GET', '/api/definitions')).json as Body).global_parameters,
      (await on('GET', '/api/global-parameters')).json,
    )
  } finally {
    await api.close()
    await stored.stop()
  }
})
