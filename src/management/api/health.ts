// Health checks, the node, and vhost/user limits through the management API, with RabbitMQ 3.10.8's
// paths, bodies and status codes (compared with curl against a private node, see notes/api2.md).
import { readdirSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { requireAdministrator } from './auth.js'
import { operation, vhostOf, type ApiHandler } from './context.js'
import { NODE, type Json } from './format.js'
import { HttpError, badRequest, noContent, notFoundError, ok, requireKeys, type Reply } from './http.js'
import { EXCHANGE_TYPES } from '../../broker/exchange/index.js'
import { EXCHANGE_DESCRIPTIONS } from './format.js'
import { managementContexts } from './node.js'
import { churn, nodeResources } from './statistics.js'

const STARTED_AT = Date.now()

/**
 * File descriptors in use (the entries of /proc/self/fd, less the one reading it) and the soft limit
 * (/proc/self/limits' "Max open files"; Node has no getrlimit), as RabbitMQ's fd_used/fd_total. Sockets are
 * the AMQP connections; Warren keeps no separate socket budget, so their limit is the descriptors'.
 * Nothing where /proc is missing (not Linux): RabbitMQ's fields are then left out, not invented.
 */
function descriptors(ctx: Parameters<ApiHandler>[0]): Json {
  try {
    const used = readdirSync('/proc/self/fd').length - 1
    const limit = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1]
    const total = limit === undefined || limit === 'unlimited' ? undefined : Number(limit)
    let sockets = 0
    for (const _ of ctx.connections()) sockets++
    return {
      fd_used: used,
      ...(total !== undefined ? { fd_total: total } : {}),
      sockets_used: sockets,
      ...(total !== undefined ? { sockets_total: total } : {}),
    }
  } catch {
    return {}
  }
}

/** 200 ok, or 503 with the alarms in effect (RabbitMQ's body; `where` is its wording for the check) */
function alarmsReply(ctx: Parameters<ApiHandler>[0], where: 'in the cluster' | 'on the node'): Reply {
  const resources = ctx.broker.alarms.resources
  if (resources.length === 0) return ok({ status: 'ok' })
  return {
    status: 503,
    body: {
      status: 'failed',
      reason: `resource alarm(s) in effect ${where}`,
      alarms: resources.map((resource) => ({ node: NODE, resource })),
    },
  }
}

/** GET /api/health/checks/alarms */
export const alarmsCheck: ApiHandler = (ctx) => alarmsReply(ctx, 'in the cluster')

/** GET /api/health/checks/local-alarms: Warren is one node, so its alarms are the local ones */
export const localAlarmsCheck: ApiHandler = (ctx) => alarmsReply(ctx, 'on the node')

/** GET /api/health/checks/virtual-hosts: a Warren vhost is up as long as it exists (no per-vhost supervisor) */
export const virtualHostsCheck: ApiHandler = () => ok({ status: 'ok' })

/** The ports this node listens on: AMQP's and the management API's, as RabbitMQ lists its listeners */
function listeningPorts(ctx: Parameters<ApiHandler>[0]): number[] {
  return [...new Set([ctx.listener().port, ctx.amqpPort])].sort((a, b) => a - b)
}

/** GET /api/health/checks/port-listener/{port}: 200 {status, port}, 503 "No active listener", 400 "Invalid port" */
export const portListenerCheck: ApiHandler = (ctx, _access, req) => {
  const raw = req.params['port']!
  if (!/^\d+$/.test(raw)) throw badRequest('Invalid port')
  const port = Number(raw)
  const ports = listeningPorts(ctx)
  if (ports.includes(port)) return ok({ status: 'ok', port })
  return { status: 503, body: { status: 'failed', reason: 'No active listener', missing: port, ports } }
}

/**
 * A node as /api/nodes shows it, with the fields Warren knows (no Erlang VM counters: run_queue, proc_*,
 * gc_*, io_* are RabbitMQ's runtime's and are left out, never invented).
 */
function nodeJson(ctx: Parameters<ApiHandler>[0]): Json {
  const { config } = ctx.broker
  return {
    name: NODE,
    type: 'disc',
    running: true,
    os_pid: String(process.pid),
    uptime: Date.now() - STARTED_AT,
    processors: availableParallelism(),
    rates_mode: 'basic',
    mem_limit: config.memoryHighWatermark,
    mem_alarm: ctx.broker.alarms.isSet('memory'),
    mem_calculation_strategy: 'rss',
    // mem_used, disk_free and their rates
    ...nodeResources(ctx.broker),
    ...(descriptors(ctx) as object),
    // connection_created, queue_deleted... as the overview's churn_rates
    ...churn(ctx.broker),
    disk_free_limit: config.diskFreeLimit,
    disk_free_alarm: ctx.broker.alarms.isSet('disk'),
    db_dir: config.dataDir ?? '',
    partitions: [],
    enabled_plugins: ['rabbitmq_management'],
    contexts: managementContexts(ctx, 'node'),
    exchange_types: [...EXCHANGE_TYPES.keys()]
      .sort()
      .map((name) => ({ name, description: EXCHANGE_DESCRIPTIONS[name] ?? '', enabled: true })),
  }
}

export const listNodes: ApiHandler = (ctx) => ok([nodeJson(ctx)])

export const getNode: ApiHandler = (ctx, _access, req) => {
  // RabbitMQ 3.10.8 answers an unknown node with a bare 500 (its RPC to the node fails)
  if (req.params['name'] !== NODE) return { status: 500 }
  return ok(nodeJson(ctx))
}

/** GET /api/vhost-limits[/{vhost}]: [{vhost, value}] for the vhosts with limits the user may log in to */
export const listVhostLimits: ApiHandler = (ctx, access, req) => {
  const only = req.params['vhost']
  if (only !== undefined) access.requireVhost(vhostOf(ctx, only).name)
  return ok(
    [...ctx.broker.vhosts.keys()]
      .filter((v) => (only === undefined || v === only) && access.mayAccessVhost(v))
      .map((vhost) => ({ vhost, value: ctx.broker.limits.vhost(vhost) }))
      .filter((l) => Object.keys(l.value).length > 0),
  )
}

/** PUT /api/vhost-limits/{vhost}/{name} with {value}; DELETE clears that one limit */
export const putVhostLimit: ApiHandler = (ctx, access, req) => {
  requireAdministrator(access.user)
  const vhost = vhostOf(ctx, req.params['vhost']).name
  const value = limitValue(req.json())
  const limits = { ...ctx.broker.limits.vhost(vhost), [req.params['name']!]: value }
  operation(() => ctx.broker.setVhostLimits(vhost, limits))
  return noContent()
}

export const deleteVhostLimit: ApiHandler = (ctx, access, req) => {
  requireAdministrator(access.user)
  const vhost = vhostOf(ctx, req.params['vhost']).name
  const limits = { ...ctx.broker.limits.vhost(vhost) }
  delete limits[req.params['name']!]
  operation(() => ctx.broker.setVhostLimits(vhost, limits))
  return noContent()
}

function userOf(ctx: Parameters<ApiHandler>[0], name: string | undefined): string {
  if (name === undefined || !ctx.broker.users.get(name)) throw notFoundError()
  return name
}

/** GET /api/user-limits[/{user}]: [{user, value}] for users with limits (administrator) */
export const listUserLimits: ApiHandler = (ctx, access, req) => {
  requireAdministrator(access.user)
  const only = req.params['user']
  if (only !== undefined) userOf(ctx, only)
  return ok(
    ctx.broker.users
      .list()
      .filter((u) => only === undefined || u.name === only)
      .map((u) => ({ user: u.name, value: ctx.broker.limits.user(u.name) }))
      .filter((l) => Object.keys(l.value).length > 0),
  )
}

export const putUserLimit: ApiHandler = (ctx, access, req) => {
  requireAdministrator(access.user)
  const name = req.params['user']!
  // RabbitMQ 3.10.8's body for a user that does not exist: the Erlang error as a list
  if (!ctx.broker.users.get(name)) throw new HttpError(400, 'bad_request', ['no_such_user', name])
  const user = userOf(ctx, name)
  const value = limitValue(req.json())
  const limits = { ...ctx.broker.limits.user(user), [req.params['name']!]: value }
  operation(() => ctx.broker.setUserLimits(user, limits))
  return noContent()
}

export const deleteUserLimit: ApiHandler = (ctx, access, req) => {
  requireAdministrator(access.user)
  // RabbitMQ 3.10.8 answers a missing user with a bare 500 (its clear_user_limits crashes; checked)
  if (!ctx.broker.users.get(req.params['user'] ?? '')) return { status: 500 }
  const user = userOf(ctx, req.params['user'])
  const limits = { ...ctx.broker.limits.user(user) }
  delete limits[req.params['name']!]
  operation(() => ctx.broker.setUserLimits(user, limits))
  return noContent()
}

function limitValue(body: Record<string, unknown>): number {
  requireKeys(body, ['value'])
  const raw = body['value']
  const value = typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : raw
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new HttpError(400, 'bad_request', 'Validation failed\n\nvalue must be an integer\n')
  }
  return value
}
