// The management API's policies, message_stats and list query parameters (issue 11, second part) against an
// in-process Warren, with real HTTP requests and amqplib. Shapes follow RabbitMQ 3.10's management plugin
// (see /work/wt/notes/api2.md).
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import amqp from 'amqplib'
import { startBroker, type InProcessBroker } from '../helpers/broker.js'
import { startManagementServer, type ManagementServer } from '../../src/management/api/server.js'
import { withRates } from '../../src/management/api/rates.js'
import { apiClient, startBrokerWithApi, basicAuth as auth, type Body } from '../helpers/management-http.js'

describe('management API: policies, message_stats, list queries', () => {
  let broker: InProcessBroker
  let api: ManagementServer
  let base: string
  const call = apiClient(() => base)

  before(async () => {
    ;({ broker, api, base } = await startBrokerWithApi())
    broker.broker.putUser('mon', { password: 'p', tags: ['monitoring'] })
  })

  after(async () => {
    await api?.close()
    await broker?.stop()
  })

  test('policies: PUT applies at once to an existing queue, GET lists, DELETE removes', async () => {
    assert.equal((await call('PUT', '/api/queues/%2F/pol.q', { durable: false })).status, 201)
    const missing = await call('PUT', '/api/policies/%2F/p1', { definition: {} })
    assert.equal(missing.status, 400)
    assert.deepEqual(missing.json, { error: 'bad_request', reason: '[{key_missing,pattern}]' })
    const put = await call('PUT', '/api/policies/%2F/p1', {
      pattern: '^pol\\.',
      definition: { 'max-length': 2 },
      priority: 1,
      'apply-to': 'queues',
    })
    assert.equal(put.status, 201)
    assert.equal(
      (
        await call('PUT', '/api/policies/%2F/p1', {
          pattern: '^pol\\.',
          definition: { 'max-length': 2 },
          'apply-to': 'queues',
          priority: 1,
        })
      ).status,
      204,
    )
    const expected = {
      vhost: '/',
      name: 'p1',
      pattern: '^pol\\.',
      'apply-to': 'queues',
      definition: { 'max-length': 2 },
      priority: 1,
    }
    assert.deepEqual((await call('GET', '/api/policies')).json, [expected])
    assert.deepEqual((await call('GET', '/api/policies/%2F')).json, [expected])
    assert.deepEqual((await call('GET', '/api/policies/%2F/p1')).json, expected)
    assert.equal((await call('GET', '/api/queues/%2F/pol.q')).json.policy, 'p1')
    // the policy's max-length holds for the queue made before it
    for (let i = 0; i < 4; i++) {
      await call('POST', '/api/exchanges/%2F/amq.default/publish', {
        routing_key: 'pol.q',
        properties: {},
        payload: `m${i}`,
        payload_encoding: 'string',
      })
    }
    assert.equal((await call('GET', '/api/queues/%2F/pol.q')).json.messages, 2)
    // listed for the vhosts a user may log in to (mon has no permissions); set by policymakers only
    assert.deepEqual((await call('GET', '/api/policies', undefined, auth('mon', 'p'))).json, [])
    assert.deepEqual(
      (await call('PUT', '/api/policies/%2F/p9', { pattern: 'x', definition: {} }, auth('mon', 'p'))).json,
      {
        error: 'not_authorised',
        reason: 'User not authorised to access object',
      },
    )
    assert.deepEqual((await call('GET', '/api/operator-policies')).json, [])
    // an exchange policy holds at once too: alternate-exchange for an exchange made before it
    await call('PUT', '/api/exchanges/%2F/pol.x', { type: 'direct' })
    await call('PUT', '/api/exchanges/%2F/pol.ae', { type: 'fanout' })
    await call('PUT', '/api/queues/%2F/pol.aeq', {})
    await call('POST', '/api/bindings/%2F/e/pol.ae/q/pol.aeq', { routing_key: '' })
    const publishToX = () =>
      call('POST', '/api/exchanges/%2F/pol.x/publish', {
        routing_key: 'nowhere',
        properties: {},
        payload: 'x',
        payload_encoding: 'string',
      })
    assert.deepEqual((await publishToX()).json, { routed: false })
    const ae = { pattern: '^pol\\.x$', definition: { 'alternate-exchange': 'pol.ae' }, 'apply-to': 'exchanges' }
    assert.equal((await call('PUT', '/api/policies/%2F/ae', ae)).status, 201)
    assert.deepEqual((await publishToX()).json, { routed: true })
    assert.equal((await call('GET', '/api/queues/%2F/pol.aeq')).json.messages, 1)
    assert.equal((await call('DELETE', '/api/policies/%2F/ae')).status, 204)
    assert.deepEqual((await publishToX()).json, { routed: false })
    for (const x of ['pol.x', 'pol.ae']) await call('DELETE', `/api/exchanges/%2F/${x}`)
    await call('DELETE', '/api/queues/%2F/pol.aeq')
    assert.equal((await call('DELETE', '/api/policies/%2F/p1')).status, 204)
    assert.equal((await call('DELETE', '/api/policies/%2F/p1')).status, 404)
    assert.equal((await call('GET', '/api/policies/%2F/p1')).status, 404)
    assert.equal((await call('GET', '/api/queues/%2F/pol.q')).json.policy, null)
    await call('DELETE', '/api/queues/%2F/pol.q')
  })

  test('message_stats from the counters on queues, exchanges, vhosts and the overview', async () => {
    const conn = await amqp.connect(broker.url)
    try {
      const ch = await conn.createConfirmChannel()
      await ch.assertExchange('ms.x', 'fanout', { durable: false })
      await ch.assertQueue('ms.q', { durable: false })
      await ch.bindQueue('ms.q', 'ms.x', '')
      for (let i = 0; i < 3; i++) ch.publish('ms.x', '', Buffer.from(`m${i}`))
      await ch.waitForConfirms()
      const got = await ch.get('ms.q', { noAck: false })
      assert.ok(got)
      ch.ack(got)
      await ch.get('ms.q', { noAck: true })
      await ch.close()
    } finally {
      await conn.close()
    }
    const q = (await call('GET', '/api/queues/%2F/ms.q')).json
    assert.equal(q.message_stats.publish, 3)
    assert.equal(q.message_stats.get, 1)
    assert.equal(q.message_stats.get_no_ack, 1)
    assert.equal(q.message_stats.deliver_get, 2)
    assert.equal(q.message_stats.ack, 1)
    assert.deepEqual(Object.keys(q.message_stats.publish_details), ['rate'])
    const x = (await call('GET', '/api/exchanges/%2F/ms.x')).json
    assert.equal(x.message_stats.publish_in, 3)
    assert.equal(x.message_stats.publish_out, 3)
    const v = (await call('GET', '/api/vhosts/%2F')).json
    assert.ok(v.message_stats.publish >= 3)
    assert.ok(v.message_stats.confirm >= 3)
    const o = (await call('GET', '/api/overview')).json
    assert.equal(o.rates_mode, 'basic')
    assert.ok(o.message_stats.publish >= 3)
    assert.ok(o.message_stats.deliver_get >= 2)
    await call('DELETE', '/api/queues/%2F/ms.q')
    await call('DELETE', '/api/exchanges/%2F/ms.x')
  })

  test('rates: change per second since the previous kept sample, one sample per 5 s', () => {
    const key = {}
    assert.deepEqual(withRates(key, { publish: 0 }, 1000), { publish: 0, publish_details: { rate: 0 } })
    // within 5 s no new sample: the rate is against the first one
    assert.deepEqual(withRates(key, { publish: 10 }, 3000), { publish: 10, publish_details: { rate: 5 } })
    // 5 s later a new sample is kept; the rate is against the previous one
    assert.deepEqual(withRates(key, { publish: 30 }, 6000), { publish: 30, publish_details: { rate: 6 } })
    assert.deepEqual(withRates(key, { publish: 40 }, 8000), { publish: 40, publish_details: { rate: 5.7 } })
  })

  test('list query parameters: name, use_regex, sort, sort_reverse, columns, pages', async () => {
    for (const name of ['lq.b', 'lq.a', 'lq.c', 'other']) await call('PUT', `/api/queues/%2F/${name}`, {})
    const publishTo = (key: string) =>
      call('POST', '/api/exchanges/%2F/amq.default/publish', {
        routing_key: key,
        properties: {},
        payload: 'x',
        payload_encoding: 'string',
      })
    await publishTo('lq.c')
    await publishTo('lq.c')
    await publishTo('lq.a')
    const names = (r: Body) => (r as { name: string }[]).map((q) => q.name)
    const items = (r: Body) => names((r as { items: unknown }).items)
    // name filters only a paged request, as in RabbitMQ 3.10.8
    assert.deepEqual(names((await call('GET', '/api/queues/%2F?name=LQ.')).json), ['lq.a', 'lq.b', 'lq.c', 'other'])
    assert.deepEqual(items((await call('GET', '/api/queues/%2F?page=1&name=LQ.')).json), ['lq.a', 'lq.b', 'lq.c'])
    assert.deepEqual(items((await call('GET', '/api/queues/%2F?page=1&name=LQ\\.[ab]$&use_regex=true')).json), [
      'lq.a',
      'lq.b',
    ])
    // without use_regex the name is a plain substring
    assert.deepEqual(items((await call('GET', '/api/queues/%2F?page=1&name=lq.[ab]')).json), [])
    assert.deepEqual((await call('GET', '/api/queues/%2F?page=1&name=[&use_regex=true')).json, {
      error: 'bad_request',
      reason: 'Pagination parameters are invalid',
    })
    assert.deepEqual(items((await call('GET', '/api/queues/%2F?page=1&name=lq&sort=name&sort_reverse=true')).json), [
      'lq.c',
      'lq.b',
      'lq.a',
    ])
    assert.deepEqual((await call('GET', '/api/queues/%2F?columns=name,message_stats.publish')).json, [
      { name: 'lq.a', message_stats: { publish: 1 } },
      { name: 'lq.b' },
      { name: 'lq.c', message_stats: { publish: 2 } },
      { name: 'other' },
    ])
    // sorting by a nested column: a missing value first, as RabbitMQ orders them
    assert.deepEqual(items((await call('GET', '/api/queues/%2F?page=1&name=lq&sort=message_stats.publish')).json), [
      'lq.b',
      'lq.a',
      'lq.c',
    ])
    const page = (await call('GET', '/api/queues/%2F?page=2&page_size=2&name=lq&columns=name')).json
    assert.deepEqual(page, {
      filtered_count: 3,
      item_count: 1,
      items: [{ name: 'lq.c' }],
      page: 2,
      page_count: 2,
      page_size: 2,
      total_count: 4,
    })
    assert.deepEqual((await call('GET', '/api/queues/%2F?page=3&page_size=2&name=lq')).json, {
      error: 'page_out_of_range',
      reason: 'Page out of range, page: 3 page size: 2, len: 3',
    })
    assert.deepEqual((await call('GET', '/api/queues/%2F?page=1&page_size=501')).json, {
      error: 'invalid_pagination_parameters',
      reason: 'Invalid pagination parameters: page number 1, page size 501',
    })
    assert.deepEqual((await call('GET', '/api/queues/%2F?page=0')).json, {
      error: 'invalid_pagination_parameters',
      reason: 'Invalid pagination parameters: page number 0, page size undefined',
    })
    // the same implementation for every list
    assert.deepEqual((await call('GET', '/api/exchanges/%2F?page=1&name=amq.top&columns=name')).json.items, [
      { name: 'amq.topic' },
    ])
    assert.deepEqual((await call('GET', '/api/users?page=1&columns=name&name=guest')).json.items, [{ name: 'guest' }])
    assert.deepEqual((await call('GET', '/api/users?columns=name&sort=name&sort_reverse=true')).json, [
      { name: 'mon' },
      { name: 'guest' },
    ])
    for (const name of ['lq.b', 'lq.a', 'lq.c', 'other']) await call('DELETE', `/api/queues/%2F/${name}`)
  })
})

describe('management API: health checks, nodes, limits, per-vhost definitions', () => {
  let broker: InProcessBroker
  let api: ManagementServer
  let base: string
  const request = apiClient(() => base)
  // These tests compare the status and body as a whole
  const call = async (method: string, path: string, body?: unknown) => {
    const { status, json } = await request(method, path, body)
    return { status, json }
  }

  before(async () => {
    broker = await startBroker({ inProcess: true })
    api = await startManagementServer(broker.broker, () => broker.connections, {
      port: 0,
      host: '127.0.0.1',
      amqpPort: broker.port,
    })
    base = `http://127.0.0.1:${api.port}`
  })

  after(async () => {
    await api?.close()
    await broker?.stop()
  })

  test('health checks: local alarms, virtual hosts, port listener', async () => {
    assert.deepEqual(await call('GET', '/api/health/checks/local-alarms'), { status: 200, json: { status: 'ok' } })
    assert.deepEqual(await call('GET', '/api/health/checks/virtual-hosts'), { status: 200, json: { status: 'ok' } })
    assert.deepEqual(await call('GET', `/api/health/checks/port-listener/${broker.port}`), {
      status: 200,
      json: { status: 'ok', port: broker.port },
    })
    const missing = await call('GET', '/api/health/checks/port-listener/1')
    assert.equal(missing.status, 503)
    assert.deepEqual(missing.json, {
      status: 'failed',
      reason: 'No active listener',
      missing: 1,
      ports: [api.port, broker.port].sort((a, b) => a - b),
    })
    assert.deepEqual(await call('GET', '/api/health/checks/port-listener/abc'), {
      status: 400,
      json: { error: 'bad_request', reason: 'Invalid port' },
    })
    broker.broker.alarms.update('memory', true)
    try {
      const alarmed = await call('GET', '/api/health/checks/local-alarms')
      assert.equal(alarmed.status, 503)
      assert.deepEqual(alarmed.json.alarms, [{ node: 'warren@localhost', resource: 'memory' }])
    } finally {
      broker.broker.alarms.update('memory', false)
    }
  })

  test('nodes', async () => {
    const nodes = (await call('GET', '/api/nodes')).json
    assert.equal(nodes.length, 1)
    assert.equal(nodes[0].name, 'warren@localhost')
    assert.equal(nodes[0].running, true)
    assert.equal(nodes[0].os_pid, String(process.pid))
    assert.equal((await call('GET', '/api/nodes/warren@localhost')).json.name, 'warren@localhost')
    // RabbitMQ 3.10.8 answers an unknown node with a bare 500 (judged by test/differential/management-api.test.ts)
    assert.equal((await call('GET', '/api/nodes/other@host')).status, 500)
  })

  test('vhost and user limits', async () => {
    assert.equal((await call('PUT', '/api/vhost-limits/%2F/max-connections', { value: 10 })).status, 204)
    assert.deepEqual((await call('GET', '/api/vhost-limits')).json, [{ vhost: '/', value: { 'max-connections': 10 } }])
    assert.deepEqual(broker.broker.limits.vhost('/'), { 'max-connections': 10 })
    assert.deepEqual((await call('PUT', '/api/vhost-limits/%2F/max-connections', {})).json, {
      error: 'bad_request',
      reason: '[{key_missing,value}]',
    })
    assert.equal((await call('DELETE', '/api/vhost-limits/%2F/max-connections')).status, 204)
    assert.deepEqual((await call('GET', '/api/vhost-limits/%2F')).json, [])
    assert.equal((await call('GET', '/api/vhost-limits/nov')).status, 404)
    assert.equal((await call('PUT', '/api/user-limits/guest/max-channels', { value: 5 })).status, 204)
    assert.deepEqual((await call('GET', '/api/user-limits/guest')).json, [
      { user: 'guest', value: { 'max-channels': 5 } },
    ])
    assert.deepEqual(broker.broker.limits.user('guest'), { 'max-channels': 5 })
    assert.equal((await call('DELETE', '/api/user-limits/guest/max-channels')).status, 204)
    assert.deepEqual((await call('GET', '/api/user-limits')).json, [])
  })

  test('per-vhost definitions: export without the vhost, import into the path vhost', async () => {
    assert.equal((await call('PUT', '/api/vhosts/dv')).status, 201)
    const imported = await call('POST', '/api/definitions/dv', {
      queues: [{ name: 'dq', durable: true, auto_delete: false, arguments: {} }],
      exchanges: [{ name: 'dx', type: 'fanout', durable: true, auto_delete: false, internal: false, arguments: {} }],
      bindings: [{ source: 'dx', destination: 'dq', destination_type: 'queue', routing_key: 'k', arguments: {} }],
      policies: [{ name: 'dp', pattern: '^dq$', 'apply-to': 'queues', definition: { 'max-length': 1 }, priority: 0 }],
    })
    assert.equal(imported.status, 204)
    const exported = (await call('GET', '/api/definitions/dv')).json
    assert.deepEqual(exported, {
      rabbit_version: '3.10.8',
      parameters: [],
      policies: [
        {
          vhost: 'dv',
          name: 'dp',
          pattern: '^dq$',
          'apply-to': 'queues',
          definition: { 'max-length': 1 },
          priority: 0,
        },
      ],
      queues: [{ name: 'dq', durable: true, auto_delete: false, arguments: {} }],
      exchanges: [{ name: 'dx', type: 'fanout', durable: true, auto_delete: false, internal: false, arguments: {} }],
      bindings: [{ source: 'dx', destination: 'dq', destination_type: 'queue', routing_key: 'k', arguments: {} }],
    })
    assert.equal((await call('GET', '/api/queues/dv/dq')).json.policy, 'dp')
    assert.equal((await call('GET', '/api/definitions/nov')).status, 404)
    assert.equal((await call('DELETE', '/api/vhosts/dv')).status, 204)
  })
})

describe('management API: statistics of connections, channels, queues, churn, exchanges (issue 11)', () => {
  let broker: InProcessBroker
  let api: ManagementServer
  let base: string
  const call = apiClient(() => base)
  const get = async (path: string): Promise<Body> => (await call('GET', path)).json

  before(async () => {
    ;({ broker, api, base } = await startBrokerWithApi())
  })

  after(async () => {
    await api?.close()
    await broker?.stop()
  })

  /** The API's name of an amqplib connection: found by the client's own port */
  async function connectionOf(conn: amqp.ChannelModel): Promise<Body> {
    const port = (conn.connection as unknown as { stream: { localPort: number } }).stream.localPort
    const all = (await get('/api/connections')) as Body[]
    const found = all.find((c) => c.peer_port === port)
    assert.ok(found, `no connection from port ${port}`)
    return get(`/api/connections/${encodeURIComponent(found.name)}`)
  }

  test("a connection's traffic, login, heartbeat and open time", async () => {
    const before = Date.now()
    const conn = await amqp.connect(`${broker.url}?heartbeat=7`)
    try {
      const first = await connectionOf(conn)
      assert.equal(first.auth_mechanism, 'PLAIN')
      assert.equal(first.timeout, 7)
      assert.ok(first.connected_at >= before && first.connected_at <= Date.now())
      assert.equal(first.ssl, false)
      // one connection read on its own: RabbitMQ's '' for the TLS fields (null in lists)
      assert.equal(first.ssl_protocol, '')
      assert.equal(((await get('/api/connections')) as Body[])[0].ssl_protocol, null)
      const ch = await conn.createConfirmChannel()
      const body = Buffer.alloc(20_000, 'x')
      for (let i = 0; i < 5; i++) ch.publish('', 'nowhere', body)
      await ch.waitForConfirms()
      const second = await connectionOf(conn)
      assert.ok(second.recv_oct - first.recv_oct >= 5 * body.length, `${second.recv_oct} - ${first.recv_oct}`)
      assert.ok(second.recv_cnt > first.recv_cnt)
      assert.ok(second.send_oct > first.send_oct)
      assert.ok(second.send_cnt > first.send_cnt)
      assert.equal(second.send_pend, 0)
      assert.deepEqual(Object.keys(second.recv_oct_details), ['rate'])
      // the vhost sums its connections' bytes
      const vhost = await get('/api/vhosts/%2F')
      assert.ok(vhost.recv_oct >= second.recv_oct)
      assert.deepEqual(Object.keys(vhost.messages_details), ['rate'])
    } finally {
      await conn.close()
    }
    // a closed connection's bytes stay in its vhost's
    const after = await get('/api/vhosts/%2F')
    assert.ok(after.recv_oct >= 5 * 20_000)
  })

  test('per-channel message_stats count what the channel published, delivered, got and acked', async () => {
    const conn = await amqp.connect(broker.url)
    try {
      const pub = await conn.createConfirmChannel()
      await pub.assertQueue('cs.q', { durable: false })
      for (let i = 0; i < 4; i++) pub.publish('', 'cs.q', Buffer.from(`m${i}`))
      pub.publish('', 'cs.nowhere', Buffer.from('lost'), { mandatory: true })
      pub.publish('', 'cs.nowhere', Buffer.from('dropped'))
      await pub.waitForConfirms()
      const sub = await conn.createChannel()
      const got = await sub.get('cs.q', { noAck: false })
      assert.ok(got)
      sub.ack(got)
      await sub.get('cs.q', { noAck: true })
      const delivered: amqp.ConsumeMessage[] = []
      const twoDelivered = new Promise<void>((resolve) => {
        void sub.consume('cs.q', (m) => {
          if (m) delivered.push(m)
          if (delivered.length === 2) resolve()
        })
      })
      await twoDelivered
      sub.ack(delivered[0]!)
      assert.equal(await sub.get('cs.q'), false)
      const channels = (await get('/api/channels')) as Body[]
      const stats = (n: number) => channels.find((c) => c.number === n && c.user === 'guest')!
      const p = stats(1).message_stats
      assert.equal(p.publish, 6)
      assert.equal(p.confirm, 6)
      assert.equal(p.return_unroutable, 1)
      assert.equal(p.drop_unroutable, 1)
      assert.equal(p.deliver_get, undefined)
      const s = stats(2)
      assert.equal(s.message_stats.publish, undefined)
      assert.equal(s.message_stats.get, 1)
      assert.equal(s.message_stats.get_no_ack, 1)
      assert.equal(s.message_stats.get_empty, 1)
      assert.equal(s.message_stats.deliver, 2)
      assert.equal(s.message_stats.deliver_get, 4)
      assert.equal(s.message_stats.ack, 2)
      assert.equal(s.messages_unacknowledged, 1)
      assert.deepEqual(Object.keys(s.message_stats.ack_details), ['rate'])
      assert.equal(stats(1).messages_unconfirmed, 0)
      assert.equal(stats(1).acks_uncommitted, 0)
      await pub.deleteQueue('cs.q')
    } finally {
      await conn.close()
    }
  })

  test('idle_since: since creation while untouched, gone when active, back once nothing changed', async () => {
    const conn = await amqp.connect(broker.url)
    try {
      const ch = await conn.createChannel()
      await ch.assertQueue('idle.q', { durable: false })
      const channelOf = async () => ((await get('/api/channels')) as Body[]).find((c) => c.number === 1)!
      const queue = await get('/api/queues/%2F/idle.q')
      assert.match(queue.idle_since, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/)
      assert.ok((await channelOf()).idle_since)
      ch.sendToQueue('idle.q', Buffer.from('wake'))
      await ch.assertQueue('idle.q', { durable: false }) // the publish is in once this answers
      const readAt = Date.now()
      assert.equal((await channelOf()).idle_since, undefined)
      assert.equal((await get('/api/queues/%2F/idle.q')).idle_since, undefined)
      const idle = (await get('/api/queues/%2F/idle.q')).idle_since as string
      assert.ok(Date.parse(idle) >= readAt)
      assert.ok((await channelOf()).idle_since)
      await ch.deleteQueue('idle.q')
    } finally {
      await conn.close()
    }
  })

  test("a queue's bytes, persistent share, memory split, head timestamp and consumer capacity", async () => {
    const conn = await amqp.connect(broker.url)
    try {
      const ch = await conn.createConfirmChannel()
      await ch.assertQueue('qb.q', { durable: true })
      for (let i = 0; i < 3; i++) {
        ch.sendToQueue('qb.q', Buffer.alloc(10, 'p'), { persistent: true, timestamp: 1_700_000_000 + i })
      }
      for (let i = 0; i < 2; i++) ch.sendToQueue('qb.q', Buffer.alloc(100, 't'), { persistent: false })
      await ch.waitForConfirms()
      const q = await get('/api/queues/%2F/qb.q')
      assert.equal(q.messages, 5)
      assert.equal(q.message_bytes, 230)
      assert.equal(q.message_bytes_ready, 230)
      assert.equal(q.message_bytes_unacknowledged, 0)
      assert.equal(q.messages_persistent, 3)
      assert.equal(q.message_bytes_persistent, 30)
      assert.equal(q.messages_ram + q.messages_paged_out, 5)
      assert.equal(q.message_bytes_ram + q.message_bytes_paged_out, 230)
      assert.equal(q.messages_ready_ram, q.messages_ram)
      assert.equal(q.head_message_timestamp, 1_700_000_000)
      assert.equal(q.consumer_capacity, 0)
      assert.deepEqual(Object.keys(q.messages_ready_details), ['rate'])
      // one persistent delivery held unacked by a consumer at its prefetch limit
      const sub = await conn.createChannel()
      await sub.prefetch(1)
      const first = new Promise<void>((resolve) => void sub.consume('qb.q', () => resolve()))
      await first
      const held = await get('/api/queues/%2F/qb.q')
      assert.equal(held.messages_unacknowledged, 1)
      assert.equal(held.message_bytes_unacknowledged, 10)
      assert.equal(held.messages_unacknowledged_ram, 1)
      assert.equal(held.message_bytes_persistent, 30)
      assert.equal(held.head_message_timestamp, 1_700_000_001)
      // its only consumer is at its prefetch limit: it could take nothing now
      assert.equal(held.consumer_capacity, 0)
      await sub.close()
      await ch.deleteQueue('qb.q')
    } finally {
      await conn.close()
    }
  })

  test('churn: connections, channels and queues made, declared, closed and deleted', async () => {
    const churn = async () => (await get('/api/overview')).churn_rates
    const node = async () => ((await get('/api/nodes')) as Body[])[0]
    const before = await churn()
    const conn = await amqp.connect(broker.url)
    const ch = await conn.createChannel()
    await conn.createChannel()
    await ch.assertQueue('churn.q', { durable: false })
    await ch.assertQueue('churn.q', { durable: false })
    await ch.deleteQueue('churn.q')
    await conn.close()
    const after = await churn()
    const delta = (key: string) => after[key] - before[key]
    assert.equal(delta('connection_created'), 1)
    assert.equal(delta('connection_closed'), 1)
    assert.equal(delta('channel_created'), 2)
    assert.equal(delta('channel_closed'), 2)
    assert.equal(delta('queue_declared'), 2)
    assert.equal(delta('queue_created'), 1)
    assert.equal(delta('queue_deleted'), 1)
    assert.deepEqual(Object.keys(after.queue_created_details), ['rate'])
    const n = await node()
    assert.equal(n.connection_created, after.connection_created)
    assert.ok(n.disk_free > 0)
    assert.deepEqual(Object.keys(n.disk_free_details), ['rate'])
    assert.deepEqual(Object.keys(n.mem_used_details), ['rate'])
  })

  test("exchanges name the user who declared them; the broker's own say rmq-internal", async () => {
    broker.broker.putUser('ops', { password: 'ops-pw', tags: ['administrator'] })
    broker.broker.setPermission('ops', '/', { configure: '.*', write: '.*', read: '.*' })
    const conn = await amqp.connect(broker.url)
    try {
      const ch = await conn.createChannel()
      await ch.assertExchange('who.amqp', 'direct', { durable: false })
      const put = await call('PUT', '/api/exchanges/%2F/who.api', { type: 'fanout' }, auth('ops', 'ops-pw'))
      assert.equal(put.status, 201)
      assert.equal((await get('/api/exchanges/%2F/who.amqp')).user_who_performed_action, 'guest')
      assert.equal((await get('/api/exchanges/%2F/who.api')).user_who_performed_action, 'ops')
      assert.equal((await get('/api/exchanges/%2F/amq.direct')).user_who_performed_action, 'rmq-internal')
      await ch.deleteExchange('who.amqp')
      await ch.deleteExchange('who.api')
    } finally {
      await conn.close()
    }
  })

  test('DELETE /api/user-limits of a missing user: a bare 500, as RabbitMQ 3.10.8', async () => {
    const reply = await call('DELETE', '/api/user-limits/nosuch/max-connections')
    assert.equal(reply.status, 500)
    assert.equal(reply.text, '')
  })
})
