// The node as a whole through the management API: overview, connections, definitions export and import,
// health checks and the aliveness test. Shapes as RabbitMQ 3.10.8's (field names compared with curl),
// without statistics Warren does not keep.
import { applyDefinitions } from '../../broker/definitions-file.js'
import { EXCHANGE_TYPES } from '../../broker/exchange/index.js'
import { Message } from '../../broker/message.js'
import { connectionForced } from '../../protocol/errors.js'
import { encodeProperties } from '../../protocol/properties.js'
import { VERSION } from '../../server/server-properties.js'
import { MessageTotals, overviewMessageStatsOf, vhostTotals } from '../../broker/stats.js'
import type { Vhost } from '../../broker/vhost.js'
import type { Broker } from '../../broker/broker.js'
import { isAdministrator, isMonitor, requireAdministrator, type Access } from './auth.js'
import { queueTotals, withHistory, withRates } from './rates.js'
import { churn, connectionStatistics, queueStatistics, vhostTraffic } from './statistics.js'
import {
  API_OWNER,
  exchangeName,
  httpErrorOf,
  vhostOf,
  type ApiContext,
  type ApiHandler,
  type ManagedConnection,
} from './context.js'
import {
  EXCHANGE_DESCRIPTIONS,
  NODE,
  exchangeJson,
  queueJson,
  tableJson,
  userJson,
  vhostJson,
  type Json,
} from './format.js'
import { noContent, notAuthorised, notFoundError, ok } from './http.js'
import { clusterName, globalParametersJson, vhostParameters } from './parameters.js'

/** The RabbitMQ release whose behaviour Warren follows; tools read rabbitmq_version to know what to expect */
export const RABBITMQ_VERSION = '3.10.8'

export const overview: ApiHandler = (ctx, access) => {
  const { broker } = ctx
  const visible = [...broker.vhosts.values()].filter((v) => access.seesVhost(v.name))
  let queues = 0
  let exchanges = 0
  let consumers = 0
  let ready = 0
  let unacked = 0
  for (const v of visible) {
    exchanges += v.exchanges.size
    for (const q of v.queues.values()) {
      queues++
      consumers += q.consumerCount
      ready += q.messageCount
      unacked += q.unackedCount
    }
  }
  const conns = [...ctx.connections()].filter((c) => access.seesConnectionOf(c.user.name))
  const http = ctx.listener()
  const monitor = isMonitor(access.user)
  return ok({
    management_version: RABBITMQ_VERSION,
    // message_stats with rates (rates.ts), as RabbitMQ's default management.rates_mode
    rates_mode: 'basic',
    exchange_types: [...EXCHANGE_TYPES.keys()]
      .sort()
      .map((name) => ({ name, description: EXCHANGE_DESCRIPTIONS[name] ?? '', enabled: true })),
    product_version: VERSION,
    product_name: 'Warren',
    rabbitmq_version: RABBITMQ_VERSION,
    cluster_name: clusterName(broker),
    ...(monitor ? { node: NODE } : {}),
    object_totals: {
      channels: conns.reduce((n, c) => n + c.openChannels, 0),
      connections: conns.length,
      // A plain management user sees no consumer count, node, listeners or contexts (RabbitMQ 3.10.8)
      ...(monitor ? { consumers } : {}),
      exchanges,
      queues,
    },
    // The whole broker's, or (as message_stats) the user's vhosts'
    queue_totals: queueTotals(
      visible.length === broker.vhosts.size && monitor ? broker : partialViewKey(access),
      ready,
      unacked,
    ),
    message_stats: overviewMessageStats(ctx, access, visible),
    churn_rates: churn(broker),
    ...(monitor
      ? {
          listeners: [
            { node: NODE, protocol: 'amqp', ip_address: '::', port: ctx.amqpPort },
            { node: NODE, protocol: 'http', ip_address: http.host, port: http.port },
          ],
          contexts: managementContexts(ctx, 'overview'),
        }
      : {}),
  })
}

/** Queues and exchanges whose history was asked for lately (their pages are open), by when it last was */
const watched = new Map<string, { kind: 'queues' | 'exchanges'; vhost: string; name: string; asked: number }>()
/** How many objects the timer samples at most, and for how long after the last ask (RabbitMQ's 10 minutes) */
const MAX_WATCHED = 1000
const WATCH_MS = 600_000

/** One queue's or exchange's history was asked for: the timer keeps sampling it for the next 10 minutes */
export function watchHistory(kind: 'queues' | 'exchanges', vhost: string, name: string, now = Date.now()): void {
  const key = JSON.stringify([kind, vhost, name])
  watched.delete(key)
  watched.set(key, { kind, vhost, name, asked: now })
  // The least recently asked go first (a Map keeps insertion order)
  for (const oldest of watched.keys()) {
    if (watched.size <= MAX_WATCHED) break
    watched.delete(oldest)
  }
}

/**
 * Takes the samples an administrator's overview, each vhost and the watched queues and exchanges show,
 * every 5 s (one timer for the broker, server.ts), so their history (rates.ts) is there when a page asks.
 */
export function sampleHistory(ctx: ApiContext, now = Date.now()): void {
  const { broker } = ctx
  withHistory({ record: true }, () => {
    for (const [key, w] of watched) {
      const vhost = broker.vhosts.get(w.vhost)
      const queue = w.kind === 'queues' ? vhost?.queues.get(w.name) : undefined
      const exchange = w.kind === 'exchanges' ? vhost?.exchanges.get(exchangeName(w.name)) : undefined
      if (now - w.asked > WATCH_MS || !vhost || (!queue && !exchange)) watched.delete(key)
      else if (queue) queueJson(queue, vhost.queuePolicies(queue.name), queueStatistics(queue, []))
      else if (exchange) exchangeJson(vhost.name, exchange)
    }
    let ready = 0
    let unacked = 0
    for (const v of broker.vhosts.values()) {
      vhostJson(v, vhostTraffic(ctx, v))
      for (const q of v.queues.values()) {
        ready += q.messageCount
        unacked += q.unackedCount
      }
    }
    queueTotals(broker, ready, unacked)
    withRates(broker.stats, overviewMessageStatsOf(broker.messageTotals()))
    churn(broker)
  })
}

/** The management API's HTTP context, as RabbitMQ lists its web dispatch contexts (the port as a string) */
export function managementContexts(ctx: ApiContext, of: 'overview' | 'node'): Json[] {
  const http = ctx.listener()
  const context = { description: 'RabbitMQ Management', path: '/', ip: http.host, port: String(http.port) }
  // The overview's name the node and list the TLS options; a node's own do not
  return [of === 'overview' ? { node: NODE, ...context, ssl_opts: [] } : context]
}

/** Per user without a view of every vhost: the key of that user's rate samples (rates.ts) */
const partialViewKeys = new Map<string, object>()

/**
 * The overview's message_stats: the broker's totals (deleted vhosts included) for a user who sees every
 * vhost, else the sum over the vhosts the user sees, as RabbitMQ's overview counts only those.
 */
function overviewMessageStats(ctx: ApiContext, access: Access, visible: Vhost[]): Json {
  const { broker } = ctx
  if (visible.length === broker.vhosts.size && isMonitor(access.user)) {
    return withRates(broker.stats, overviewMessageStatsOf(broker.messageTotals()))
  }
  const totals = new MessageTotals()
  for (const v of visible) {
    const t = vhostTotals(v)
    t.addTo(totals)
    t.publishing.addTo(totals.publishing)
  }
  return withRates(partialViewKey(access), overviewMessageStatsOf(totals))
}

function partialViewKey(access: Access): object {
  let key = partialViewKeys.get(access.user.name)
  if (!key) partialViewKeys.set(access.user.name, (key = {}))
  return key
}

/** `single`: one connection read on its own, whose absent TLS fields RabbitMQ gives as '' (null in lists) */
function connectionJson(c: ManagedConnection, single = false): Json {
  return {
    name: c.name,
    node: NODE,
    vhost: c.vhost.name,
    user: c.user.name,
    state: 'running',
    type: 'network',
    protocol: 'AMQP 0-9-1',
    channels: c.openChannels,
    channel_max: c.channelMax,
    frame_max: c.frameMax,
    peer_host: c.info.remoteAddress,
    peer_port: c.info.remotePort,
    // The server's side of the connection
    host: c.info.localAddress?.replace(/^::ffff:(?=\d)/, '') ?? '127.0.0.1',
    port: c.info.localPort ?? 0,
    user_who_performed_action: c.user.name,
    client_properties: tableJson(c.clientProperties),
    ...(c.userProvidedName !== undefined && { user_provided_name: c.userProvidedName }),
    ...(connectionStatistics(c, single) as object),
  }
}

export const listConnections: ApiHandler = (ctx, access, req) => {
  const vhost = req.params['vhost']
  if (vhost !== undefined) vhostOf(ctx, vhost)
  return ok(
    [...ctx.connections()]
      .filter((c) => access.seesConnectionOf(c.user.name) && (vhost === undefined || c.vhost.name === vhost))
      .map((c) => connectionJson(c)),
  )
}

function connectionOf(
  ctx: Parameters<ApiHandler>[0],
  access: Parameters<ApiHandler>[1],
  name: string,
): ManagedConnection {
  for (const c of ctx.connections()) if (c.name === name && access.seesConnectionOf(c.user.name)) return c
  throw notFoundError()
}

export const getConnection: ApiHandler = (ctx, access, req) =>
  ok(connectionJson(connectionOf(ctx, access, req.params['name']!), true))

/** Closes with 320 CONNECTION_FORCED and the X-Reason header's text, as RabbitMQ's API does */
export const deleteConnection: ApiHandler = (ctx, access, req) => {
  const c = connectionOf(ctx, access, req.params['name']!)
  // Monitoring users see every connection but close only their own, as RabbitMQ (is_authorized_user)
  if (c.user.name !== access.user.name && !isAdministrator(access.user)) {
    throw notAuthorised('User not authorised to access object')
  }
  const header = req.headers['x-reason']
  const reason = typeof header === 'string' && header !== '' ? header : 'Closed via management plugin'
  c.closeWithError(connectionForced(reason))
  return noContent()
}

/** GET /api/definitions: the broker's definitions in the format rabbitmqctl export_definitions writes */
export const exportDefinitions: ApiHandler = (ctx, access) => {
  requireAdministrator(access.user)
  return ok(definitionsOf(ctx.broker, [...ctx.broker.vhosts.values()]))
}

/**
 * GET /api/definitions/{vhost}: that vhost's parameters, policies, queues, exchanges and bindings, the
 * queues', exchanges' and bindings' `vhost` left out, as RabbitMQ 3.10.8 exports one vhost (checked).
 */
export const exportVhostDefinitions: ApiHandler = (ctx, access, req) => {
  requireAdministrator(access.user)
  const vhost = vhostOf(ctx, req.params['vhost'])
  const all = definitionsOf(ctx.broker, [vhost])
  const strip = (items: Record<string, unknown>[]) => items.map(({ vhost: _vhost, ...rest }) => rest)
  return ok({
    rabbit_version: RABBITMQ_VERSION,
    parameters: all.parameters,
    policies: all.policies,
    queues: strip(all.queues),
    exchanges: strip(all.exchanges),
    bindings: strip(all.bindings),
  })
}

/** POST /api/definitions/{vhost}: imports a body's policies, queues, exchanges and bindings into that vhost */
export const importVhostDefinitions: ApiHandler = (ctx, access, req) => {
  requireAdministrator(access.user)
  const vhost = vhostOf(ctx, req.params['vhost']).name
  const body = req.json()
  const into = (key: string): Record<string, unknown>[] => {
    const items = body[key]
    return Array.isArray(items) ? items.map((i) => ({ ...(i as Record<string, unknown>), vhost })) : []
  }
  const scoped = {
    parameters: into('parameters'),
    policies: into('policies'),
    queues: into('queues'),
    exchanges: into('exchanges'),
    bindings: into('bindings'),
  }
  try {
    applyDefinitions(ctx.broker.tenancy, ctx.broker.vhosts, scoped, 'definitions', ctx.broker.log)
  } catch (err) {
    throw httpErrorOf(err)
  }
  return noContent()
}

function definitionsOf(broker: Broker, vhosts: Vhost[]) {
  return {
    rabbit_version: RABBITMQ_VERSION,
    rabbitmq_version: RABBITMQ_VERSION,
    product_name: 'Warren',
    product_version: VERSION,
    users: broker.users.list().map((u) => userJson(u, broker.limits.user(u.name))),
    // RabbitMQ 3.10.8 exports a vhost's name only
    vhosts: vhosts.map((v) => ({ name: v.name })),
    permissions: broker.permissions
      .list()
      .map(({ user, vhost, configure, write, read }) => ({ user, vhost, configure, write, read })),
    topic_permissions: broker.permissions
      .listTopic()
      .map(({ user, vhost, exchange, write, read }) => ({ user, vhost, exchange, write, read })),
    parameters: vhostParameters(broker, vhosts),
    global_parameters: globalParametersJson(broker),
    policies: vhosts.flatMap((v) =>
      [...v.policies.values()].map(({ def }) => ({
        vhost: v.name,
        name: def.name,
        pattern: def.pattern,
        'apply-to': def.applyTo,
        definition: def.definition,
        priority: def.priority,
      })),
    ),
    // Exclusive queues cannot be restored; the default and amq.* exchanges are the broker's own
    queues: vhosts.flatMap((v) =>
      [...v.queues.values()]
        .filter((q) => q.owner === null)
        .map((q) => ({
          name: q.name,
          vhost: v.name,
          durable: q.options.durable,
          auto_delete: q.options.autoDelete,
          arguments: tableJson(q.options.arguments),
        })),
    ),
    exchanges: vhosts.flatMap((v) =>
      [...v.exchanges.values()]
        .filter((e) => e.name !== '' && !e.name.startsWith('amq.'))
        .map((e) => ({
          name: e.name,
          vhost: v.name,
          type: e.type,
          durable: e.options.durable,
          auto_delete: e.options.autoDelete,
          internal: e.options.internal,
          arguments: tableJson(e.options.arguments),
        })),
    ),
    bindings: vhosts.flatMap((v) =>
      [...v.exchanges.values()].flatMap((e) =>
        [...e.bindings.values()]
          .filter((b) => b.destination.kind === 'exchange' || b.destination.owner === null)
          .map((b) => ({
            source: e.name,
            vhost: v.name,
            destination: b.destination.name,
            destination_type: b.destination.kind,
            routing_key: b.routingKey,
            arguments: tableJson(b.arguments),
          })),
      ),
    ),
  }
}

/** POST /api/definitions: imports a body in RabbitMQ's format with the definitions file's importer */
export const importDefinitions: ApiHandler = (ctx, access, req) => {
  requireAdministrator(access.user)
  const body = req.json()
  try {
    applyDefinitions(ctx.broker.tenancy, ctx.broker.vhosts, body, 'definitions', ctx.broker.log)
  } catch (err) {
    throw httpErrorOf(err)
  }
  return noContent()
}

/**
 * GET /api/aliveness-test/{vhost}: declares the queue aliveness-test, publishes "test_message" to it and
 * gets it back, as RabbitMQ does.
 */
export const alivenessTest: ApiHandler = (ctx, access, req) => {
  const vhost = vhostOf(ctx, req.params['vhost'])
  access.requireVhost(vhost.name)
  try {
    const options = { durable: false, exclusive: false, autoDelete: false, arguments: {} }
    const { queue } = vhost.declareQueue('aliveness-test', options, false, API_OWNER)
    const properties = {}
    const message = new Message(
      '',
      'aliveness-test',
      properties,
      encodeProperties(properties),
      Buffer.from('test_message'),
    )
    vhost.publish(vhost.getExchange(''), message)
    const entry = queue.take(true)
    if (entry?.message.body.toString() !== 'test_message') {
      return { status: 503, body: { status: 'failed', reason: 'aliveness test message not received' } }
    }
  } catch (err) {
    return { status: 503, body: { status: 'failed', reason: err instanceof Error ? err.message : String(err) } }
  }
  return ok({ status: 'ok' })
}
