// Messages through the management API: POST /api/exchanges/{v}/{x}/publish and POST
// /api/queues/{v}/{q}/get, with RabbitMQ's bodies (checked against 3.10.8): {"routed": bool}; a list of
// {payload_bytes, redelivered, exchange, routing_key, message_count, properties, payload, payload_encoding}.
// And Warren's own GET /api/queues/{v}/{q}/messages: the same items, looked at without taking them (peek.ts).
import { Message } from '../../broker/message.js'
import type { LoadedEntry } from '../../broker/message.js'
import { peekReady } from '../../broker/queue/peek.js'
import type { BasicProperties } from '../../protocol/generated/properties.js'
import { encodeProperties } from '../../protocol/properties.js'
import { exchangeName, operation, vhostOf, type ApiHandler } from './context.js'
import { badRequest, notFoundError, ok, requireKeys, stringField } from './http.js'
import { tableFromJson, tableJson, type Json } from './format.js'

const PROPERTY_NAMES: [keyof BasicProperties, string][] = [
  ['contentType', 'content_type'],
  ['contentEncoding', 'content_encoding'],
  ['priority', 'priority'],
  ['correlationId', 'correlation_id'],
  ['replyTo', 'reply_to'],
  ['expiration', 'expiration'],
  ['messageId', 'message_id'],
  ['timestamp', 'timestamp'],
  ['type', 'type'],
  ['userId', 'user_id'],
  ['appId', 'app_id'],
  ['clusterId', 'cluster_id'],
]
const NUMERIC = new Set<keyof BasicProperties>(['priority', 'timestamp'])

function propertiesFromJson(value: unknown): BasicProperties {
  if (value === undefined || value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value)) {
    // an empty Erlang proplist comes back as [] in RabbitMQ's own answers, and clients send it so
    if (Array.isArray(value) && value.length === 0) return {}
    throw badRequest('properties must be an object')
  }
  const json = value as Record<string, unknown>
  const p: Record<string, unknown> = {}
  for (const [key, name] of PROPERTY_NAMES) {
    const v = json[name]
    if (v === undefined) continue
    p[key] = NUMERIC.has(key) ? Number(v) : String(v)
  }
  if (json['delivery_mode'] !== undefined) p['deliveryMode'] = Number(json['delivery_mode'])
  if (json['headers'] !== undefined) p['headers'] = tableFromJson(json['headers'])
  return p as BasicProperties
}

function propertiesJson(p: BasicProperties): Json {
  const out: { [key: string]: Json } = {}
  for (const [key, name] of PROPERTY_NAMES) {
    const v = p[key]
    if (v !== undefined) out[name] = v as Json
  }
  if (p.deliveryMode !== undefined) out['delivery_mode'] = p.deliveryMode
  if (p.headers !== undefined) out['headers'] = tableJson(p.headers)
  // RabbitMQ answers an empty property list as [] (an empty Erlang proplist)
  return Object.keys(out).length === 0 ? [] : out
}

export const publish: ApiHandler = (ctx, access, req) => {
  const vhost = vhostOf(ctx, req.params['vhost'])
  access.requireVhost(vhost.name)
  const name = exchangeName(req.params['name']!)
  const body = req.json()
  requireKeys(body, ['routing_key', 'properties', 'payload', 'payload_encoding'])
  const routingKey = stringField(body, 'routing_key', '')
  const encoding = stringField(body, 'payload_encoding', 'string')
  if (encoding !== 'string' && encoding !== 'base64') throw badRequest('payload_encoding must be string or base64')
  const payload = Buffer.from(stringField(body, 'payload', ''), encoding === 'base64' ? 'base64' : 'utf8')
  const properties = propertiesFromJson(body['properties'])
  access.requireResource(vhost.name, 'write', name === '' ? 'amq.default' : name)
  let exchange
  try {
    exchange = vhost.exchangeForPublish(name)
  } catch (err) {
    // The publish goes over an internal channel in RabbitMQ: its refusal is a 400 with the AMQP text
    if (err instanceof Error && 'replyCode' in err) throw badRequest(`${String(err.replyCode)} ${err.message}`)
    throw err
  }
  if (
    exchange.type === 'topic' &&
    !ctx.broker.permissions.allowsTopic(access.user, vhost.name, name, 'write', routingKey)
  )
    throw badRequest(
      `403 ACCESS_REFUSED - access to topic '${routingKey}' in exchange '${name}' in vhost '${vhost.name}' refused for user '${access.user.name}'`,
    )
  const message = new Message(name, routingKey, properties, encodeProperties(properties), payload)
  const result = operation(() => vhost.publish(exchange, message))
  return ok({ routed: result.routed })
}

const ACK_MODES = new Set(['ack_requeue_true', 'ack_requeue_false', 'reject_requeue_true', 'reject_requeue_false'])

function payloadJson(
  body: Buffer,
  encoding: string,
  truncate: number | undefined,
): { payload: string; payload_encoding: string } {
  const cut = truncate !== undefined && body.length > truncate ? body.subarray(0, truncate) : body
  if (encoding === 'auto') {
    try {
      return { payload: new TextDecoder('utf-8', { fatal: true }).decode(cut), payload_encoding: 'string' }
    } catch {
      // not UTF-8: base64, as RabbitMQ's auto does
    }
  }
  return { payload: cut.toString('base64'), payload_encoding: 'base64' }
}

export const getMessages: ApiHandler = (ctx, access, req) => {
  const vhost = vhostOf(ctx, req.params['vhost'])
  access.requireVhost(vhost.name)
  const queue = vhost.queues.get(req.params['name']!)
  if (!queue) throw notFoundError()
  const body = req.json()
  requireKeys(body, ['ackmode', 'count', 'encoding'])
  const count = Number(body['count'])
  if (!Number.isInteger(count) || count < 0) throw badRequest('count must be a non-negative integer')
  // Older clients (rabbitmqadmin of 3.6) send requeue instead of ackmode
  const requeue = body['requeue']
  const ackmode = stringField(
    body,
    'ackmode',
    requeue === false || requeue === 'false' ? 'ack_requeue_false' : 'ack_requeue_true',
  )
  if (!ACK_MODES.has(ackmode)) throw badRequest(`unknown ackmode '${ackmode}'`)
  const encoding = stringField(body, 'encoding', 'auto')
  if (encoding !== 'auto' && encoding !== 'base64') throw badRequest('encoding must be auto or base64')
  const truncateField = body['truncate']
  const truncate =
    truncateField === undefined || truncateField === null || truncateField === '' ? undefined : Number(truncateField)
  access.requireResource(vhost.name, 'read', queue.name)
  const taken: LoadedEntry[] = []
  const out: Json[] = []
  operation(() => {
    for (let i = 0; i < count; i++) {
      const entry = queue.take(false)
      if (!entry) break
      taken.push(entry)
      const m = entry.message
      out.push({
        payload_bytes: m.body.length,
        redelivered: entry.redelivered,
        exchange: m.exchange,
        routing_key: m.routingKey,
        message_count: queue.messageCount,
        properties: propertiesJson(m.properties),
        ...payloadJson(m.body, encoding, truncate),
      })
    }
  })
  // Settled after all are taken, as RabbitMQ's basic.get loop then ack/reject does: requeued ones go back
  // to their places, marked redelivered
  if (ackmode.endsWith('requeue_true')) queue.requeue(taken)
  else if (ackmode.startsWith('ack')) for (const e of taken) queue.ack(e)
  else for (const e of taken) queue.reject(e)
  return ok(out)
}

const PEEK_MAX_COUNT = 1000

function queryInteger(query: URLSearchParams, name: string, fallback: number, max: number): number {
  const raw = query.get(name)
  if (raw === null || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 0 || n > max) throw badRequest(`${name} must be an integer from 0 to ${max}`)
  return n
}

/**
 * GET /api/queues/{v}/{q}/messages?count=&offset=&truncate=: the ready messages from place `offset` on,
 * head first, in /get's item shape plus `position`, payloads always base64. The queue is left as it was.
 * It needs what /get needs: access to the vhost and read permission on the queue.
 */
export const peekMessages: ApiHandler = (ctx, access, req) => {
  const vhost = vhostOf(ctx, req.params['vhost'])
  access.requireVhost(vhost.name)
  const queue = vhost.queues.get(req.params['name']!)
  if (!queue) throw notFoundError()
  const count = queryInteger(req.query, 'count', 10, PEEK_MAX_COUNT)
  const offset = queryInteger(req.query, 'offset', 0, Number.MAX_SAFE_INTEGER)
  const truncateRaw = req.query.get('truncate')
  const truncate =
    truncateRaw === null || truncateRaw === ''
      ? undefined
      : queryInteger(req.query, 'truncate', 0, Number.MAX_SAFE_INTEGER)
  access.requireResource(vhost.name, 'read', queue.name)
  const ready = queue.messageCount
  const peeked = operation(() => peekReady(queue, offset, count))
  return ok(
    peeked.map(({ position, redelivered, message: m }): Json => ({
      position,
      payload_bytes: m.body.length,
      redelivered,
      exchange: m.exchange,
      routing_key: m.routingKey,
      message_count: Math.max(0, ready - position - 1),
      properties: propertiesJson(m.properties),
      ...payloadJson(m.body, 'base64', truncate),
    })),
  )
}
