// Exchanges, queues and bindings through the management API: listed per vhost the user sees, changed
// through the vhost's own operations (the same checks and texts as AMQP's), each change first checked
// against the user's permissions as the AMQP method would be (rabbit_mgmt_util runs them as that user).
import type { Exchange } from '../../broker/exchange/exchange.js'
import type { Queue } from '../../broker/queue/queue.js'
import type { Vhost } from '../../broker/vhost.js'
import type { FieldTable } from '../../protocol/field-value.js'
import { API_OWNER, exchangeName, operation, vhostOf, type ApiContext, type ApiHandler } from './context.js'
import type { Access } from './auth.js'
import { booleanField, notFoundError, noContent, ok, putReply, stringField, type Reply, type Request } from './http.js'
import { consumersJson } from './channels.js'
import { consumersByQueue, queueStatistics } from './statistics.js'
import { exchangeJson, queueJson, vhostBindings, bindingJson, tableFromJson, type BindingView } from './format.js'

const permissionName = (name: string): string => (name === '' ? 'amq.default' : name)

function visibleVhosts(ctx: ApiContext, access: Access, name: string | undefined): Vhost[] {
  if (name !== undefined) {
    const vhost = vhostOf(ctx, name)
    if (!access.seesVhost(vhost.name)) access.requireVhost(vhost.name)
    return [vhost]
  }
  return [...ctx.broker.vhosts.values()].filter((v) => access.seesVhost(v.name))
}

/** RabbitMQ's lists come sorted by vhost, then name */
function sortByName<T extends { vhost: string; name: string }>(items: T[]): T[] {
  return items.sort((a, b) => (a.vhost === b.vhost ? cmp(a.name, b.name) : cmp(a.vhost, b.vhost)))
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

export const listExchanges: ApiHandler = (ctx, access, req) =>
  ok(
    sortByName(
      visibleVhosts(ctx, access, req.params['vhost']).flatMap((v) =>
        [...v.exchanges.values()].map((e) => ({ vhost: v.name, name: e.name, json: exchangeJson(v.name, e) })),
      ),
    ).map((e) => e.json),
  )

function exchangeOf(ctx: ApiContext, access: Access, req: Request): { vhost: Vhost; exchange: Exchange } {
  const vhost = visibleVhosts(ctx, access, req.params['vhost'])[0]!
  const exchange = vhost.exchanges.get(exchangeName(req.params['name']!))
  if (!exchange) throw notFoundError()
  return { vhost, exchange }
}

export const getExchange: ApiHandler = (ctx, access, req) => {
  const { vhost, exchange } = exchangeOf(ctx, access, req)
  // One exchange comes with the detailed rates' lists, empty with rates_mode basic as in RabbitMQ
  return ok({ ...(exchangeJson(vhost.name, exchange) as object), incoming: [], outgoing: [] })
}

export const putExchange: ApiHandler = (ctx, access, req) => {
  const vhost = vhostOf(ctx, req.params['vhost'])
  access.requireVhost(vhost.name)
  const name = exchangeName(req.params['name']!)
  const body = req.json()
  // RabbitMQ's defaults for a bare PUT: a direct exchange, not durable (checked against 3.10.8)
  const type = stringField(body, 'type', 'direct')
  access.requireResource(vhost.name, 'configure', permissionName(name))
  const existed = vhost.exchanges.has(name)
  const options = {
    durable: booleanField(body, 'durable', false),
    autoDelete: booleanField(body, 'auto_delete', false),
    internal: booleanField(body, 'internal', false),
    arguments: tableFromJson(body['arguments']),
  }
  operation(() => vhost.declareExchange(name, type, options, false, access.user.name))
  return putReply(existed)
}

export const deleteExchange: ApiHandler = (ctx, access, req) => {
  const vhost = vhostOf(ctx, req.params['vhost'])
  access.requireVhost(vhost.name)
  const name = exchangeName(req.params['name']!)
  if (!vhost.exchanges.has(name)) throw notFoundError()
  access.requireResource(vhost.name, 'configure', permissionName(name))
  operation(() => vhost.deleteExchange(name, req.query.get('if-unused') === 'true'))
  return noContent()
}

export const listQueues: ApiHandler = (ctx, access, req) => {
  const consumers = consumersByQueue(ctx)
  return ok(
    sortByName(
      visibleVhosts(ctx, access, req.params['vhost']).flatMap((v) =>
        [...v.queues.values()].map((queue) => ({ name: queue.name, vhost: v.name, queue, owner: v })),
      ),
    ).map(({ queue, owner }) =>
      queueJson(queue, owner.queuePolicies(queue.name), queueStatistics(queue, consumers.get(queue) ?? [])),
    ),
  )
}

export function queueOf(ctx: ApiContext, access: Access, req: Request): { vhost: Vhost; queue: Queue } {
  const vhost = visibleVhosts(ctx, access, req.params['vhost'])[0]!
  const queue = vhost.queues.get(req.params['name']!)
  if (!queue) throw notFoundError()
  return { vhost, queue }
}

export const getQueue: ApiHandler = (ctx, access, req) => {
  const { vhost, queue } = queueOf(ctx, access, req)
  // One queue comes with its consumers, and the detailed rates' lists (empty: rates_mode basic)
  return ok({
    ...(queueJson(
      queue,
      vhost.queuePolicies(queue.name),
      queueStatistics(queue, consumersByQueue(ctx).get(queue) ?? []),
    ) as object),
    consumer_details: consumersJson(ctx, access, vhost.name, (c) => c.queue === queue),
    deliveries: [],
    incoming: [],
  })
}

export const putQueue: ApiHandler = (ctx, access, req) => {
  const vhost = vhostOf(ctx, req.params['vhost'])
  access.requireVhost(vhost.name)
  const name = req.params['name']!
  const body = req.json()
  access.requireResource(vhost.name, 'configure', name)
  const existed = vhost.queues.has(name)
  const options = {
    durable: booleanField(body, 'durable', false),
    exclusive: false,
    autoDelete: booleanField(body, 'auto_delete', false),
    arguments: tableFromJson(body['arguments']),
  }
  operation(() => vhost.declareQueue(name, options, false, API_OWNER))
  return putReply(existed)
}

export const deleteQueue: ApiHandler = (ctx, access, req) => {
  const vhost = vhostOf(ctx, req.params['vhost'])
  access.requireVhost(vhost.name)
  const queue = vhost.queues.get(req.params['name']!)
  if (!queue) throw notFoundError()
  access.requireResource(vhost.name, 'configure', queue.name)
  const ifUnused = req.query.get('if-unused') === 'true'
  const ifEmpty = req.query.get('if-empty') === 'true'
  // The API deletes exclusive queues too (it is not a connection that could be refused one)
  operation(() => vhost.deleteQueue(queue.name, ifUnused, ifEmpty, queue.owner ?? API_OWNER))
  return noContent()
}

export const purgeQueue: ApiHandler = (ctx, access, req) => {
  const vhost = vhostOf(ctx, req.params['vhost'])
  access.requireVhost(vhost.name)
  const queue = vhost.queues.get(req.params['name']!)
  if (!queue) throw notFoundError()
  access.requireResource(vhost.name, 'read', queue.name)
  queue.purge()
  return noContent()
}

// Bindings

export const listBindings: ApiHandler = (ctx, access, req) =>
  ok(visibleVhosts(ctx, access, req.params['vhost']).flatMap(vhostBindings))

/** /api/exchanges/{v}/{name}/bindings/source or .../destination */
export function exchangeBindings(side: 'source' | 'destination'): ApiHandler {
  return (ctx, access, req) => {
    const { vhost, exchange } = exchangeOf(ctx, access, req)
    return ok(
      vhostBindings(vhost).filter((b) =>
        side === 'source'
          ? b.source === exchange.name
          : b.destination_type === 'exchange' && b.destination === exchange.name,
      ),
    )
  }
}

export const queueBindings: ApiHandler = (ctx, access, req) => {
  const { vhost, queue } = queueOf(ctx, access, req)
  return ok(vhostBindings(vhost).filter((b) => b.destination_type === 'queue' && b.destination === queue.name))
}

interface BindingPath {
  vhost: Vhost
  source: string
  destination: string
  kind: 'queue' | 'exchange'
}

function bindingPath(ctx: ApiContext, access: Access, req: Request, kind: 'q' | 'e'): BindingPath {
  const vhost = visibleVhosts(ctx, access, req.params['vhost'])[0]!
  const source = exchangeName(req.params['source']!)
  const destination = kind === 'q' ? req.params['destination']! : exchangeName(req.params['destination']!)
  if (!vhost.exchanges.has(source)) throw notFoundError()
  const exists = kind === 'q' ? vhost.queues.has(destination) : vhost.exchanges.has(destination)
  if (!exists) throw notFoundError()
  return { vhost, source, destination, kind: kind === 'q' ? 'queue' : 'exchange' }
}

function bindingsBetween(p: BindingPath): BindingView[] {
  return vhostBindings(p.vhost).filter(
    (b) => b.source === p.source && b.destination === p.destination && b.destination_type === p.kind,
  )
}

export function listBindingsBetween(kind: 'q' | 'e'): ApiHandler {
  return (ctx, access, req) => ok(bindingsBetween(bindingPath(ctx, access, req, kind)))
}

/** The binding a properties key names, with its arguments as the broker holds them */
function findBinding(p: BindingPath, props: string): { view: BindingView; args: FieldTable } {
  const source = p.vhost.exchanges.get(p.source)!
  for (const b of source.bindings.values()) {
    if (b.destination.name !== p.destination || b.destination.kind !== p.kind) continue
    const view = bindingJson(p.vhost.name, b)
    if (view.properties_key === props) return { view, args: b.arguments }
  }
  // The default exchange's implicit binding to a queue
  const implicit = bindingsBetween(p).find((b) => b.source === '' && b.properties_key === props)
  if (implicit) return { view: implicit, args: {} }
  throw notFoundError()
}

export function getBinding(kind: 'q' | 'e'): ApiHandler {
  return (ctx, access, req) => ok(findBinding(bindingPath(ctx, access, req, kind), req.params['props']!).view)
}

function checkBindingAccess(access: Access, p: BindingPath): void {
  access.requireVhost(p.vhost.name)
  access.requireResource(p.vhost.name, 'write', p.destination)
  access.requireResource(p.vhost.name, 'read', permissionName(p.source))
}

export function postBinding(kind: 'q' | 'e'): ApiHandler {
  return (ctx, access, req): Reply => {
    const p = bindingPath(ctx, access, req, kind)
    const body = req.json()
    const routingKey = stringField(body, 'routing_key', '')
    const args = tableFromJson(body['arguments'])
    checkBindingAccess(access, p)
    operation(() => {
      if (p.kind === 'queue') p.vhost.bindQueue(p.destination, p.source, routingKey, args, API_OWNER)
      else p.vhost.bindExchange(p.destination, p.source, routingKey, args)
    })
    const view = bindingsBetween(p).find((b) => b.routing_key === routingKey)
    const props = view?.properties_key ?? ''
    // RabbitMQ's Location is relative to the request's path: "destination/props"
    return { status: 201, headers: { location: `${encodeURIComponent(p.destination)}/${props}` } }
  }
}

export function deleteBinding(kind: 'q' | 'e'): ApiHandler {
  return (ctx, access, req) => {
    const p = bindingPath(ctx, access, req, kind)
    const { view, args } = findBinding(p, req.params['props']!)
    checkBindingAccess(access, p)
    operation(() => {
      if (p.kind === 'queue') p.vhost.unbindQueue(p.destination, p.source, view.routing_key, args, API_OWNER)
      else p.vhost.unbindExchange(p.destination, p.source, view.routing_key, args)
    })
    return noContent()
  }
}
