// The JSON shapes of the management API's objects, field names as RabbitMQ 3.10.8 answers them (compared
// with curl against a private node: see notes). Only what Warren knows is given: message_stats from the
// broker's counters (rates: rates.ts), no Erlang process details (garbage_collection, reductions).
import { createHash } from 'node:crypto'
import type { User } from '../../auth/users.js'
import type { Binding, Exchange } from '../../broker/exchange/exchange.js'
import type { Queue } from '../../broker/queue/queue.js'
import type { Vhost } from '../../broker/vhost.js'
import type { LimitsDefinition } from '../../store/definitions-log.js'
import { exchangeMessageStats, queueMessageStats, totalMessageStats, vhostTotals } from '../../broker/stats.js'
import { TypedValue, type FieldTable, type FieldValue } from '../../protocol/field-value.js'
import { badRequest } from './http.js'
import { queueTotals, withRates, type MessageStats } from './rates.js'

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** The node name RabbitMQ would show: Warren is one node */
export const NODE = 'warren@localhost'

/** A field value as RabbitMQ's management API renders it in JSON */
export function valueJson(v: FieldValue): Json {
  if (v instanceof TypedValue) {
    const inner = v.value
    if (typeof inner === 'bigint') return Number(inner)
    if (Buffer.isBuffer(inner)) return inner.toString('utf8')
    if (typeof inner === 'object') return inner.value / 10 ** inner.scale
    return inner
  }
  if (typeof v === 'bigint') return Number(v)
  if (Buffer.isBuffer(v)) return v.toString('utf8')
  if (Array.isArray(v)) return v.map(valueJson)
  if (v !== null && typeof v === 'object') return tableJson(v)
  return v
}

export function tableJson(t: FieldTable | undefined): { [key: string]: Json } {
  const out: { [key: string]: Json } = {}
  if (t) for (const [k, v] of Object.entries(t)) out[k] = valueJson(v)
  return out
}

/** `extra`: what the API adds from outside the vhost (its connections' traffic: statistics.ts) */
export function vhostJson(v: Vhost, extra: object = {}): Json {
  const { description, tags } = v.metadata
  let ready = 0
  let unacked = 0
  for (const q of v.queues.values()) {
    ready += q.messageCount
    unacked += q.unackedCount
  }
  return {
    name: v.name,
    description,
    tags: [...tags],
    default_queue_type: v.metadata.defaultQueueType ?? 'undefined',
    metadata: { description, tags: [...tags] },
    tracing: false,
    cluster_state: { [NODE]: 'running' },
    ...extra,
    ...queueTotals(v.stats, ready, unacked),
    message_stats: withRates(v.stats, totalMessageStats(vhostTotals(v))),
  }
}

export function userJson(u: User, limits: LimitsDefinition): Json {
  return {
    name: u.name,
    password_hash: u.passwordHash,
    hashing_algorithm: u.hashingAlgorithm,
    tags: [...u.tags],
    limits: { ...limits },
  }
}

export function exchangeJson(vhost: string, e: Exchange): Json {
  return {
    name: e.name,
    vhost,
    type: e.type,
    durable: e.options.durable,
    auto_delete: e.options.autoDelete,
    internal: e.options.internal,
    arguments: tableJson(e.options.arguments),
    user_who_performed_action: e.declaredBy,
    // RabbitMQ shows an exchange's message_stats once something went through it
    ...(e.stats.publishIn + e.stats.publishOut > 0
      ? { message_stats: withRates(e.stats, exchangeMessageStats(e.stats)) }
      : {}),
  }
}

export function queueType(q: Queue): string {
  const t = q.options.arguments['x-queue-type']
  return t === 'quorum' ? 'quorum' : 'classic'
}

/**
 * A queue's message_stats as RabbitMQ 3.10.8 shows them: none before any traffic, `publish` alone while
 * only publishes happened, every delivery counter once one was delivered or got (checked with curl).
 */
function queueStatsJson(q: Queue): { message_stats?: MessageStats } {
  const all = queueMessageStats(q.stats)
  const delivered = q.stats.deliverGet + q.stats.getEmpty + q.stats.ack + q.stats.redeliver > 0
  if (!delivered && q.stats.publish === 0) return {}
  return { message_stats: withRates(q.stats, delivered ? all : { publish: q.stats.publish }) }
}

/** What RabbitMQ's overview and nodes say of each exchange type */
export const EXCHANGE_DESCRIPTIONS: Record<string, string> = {
  direct: 'AMQP direct exchange, as per the AMQP specification',
  fanout: 'AMQP fanout exchange, as per the AMQP specification',
  headers: 'AMQP headers exchange, as per the AMQP specification',
  topic: 'AMQP topic exchange, as per the AMQP specification',
}

/** The user and operator policies in force for a queue and their merged definition (Vhost.queuePolicies) */
export interface QueuePolicies {
  policy?: { name: string }
  operatorPolicy?: { name: string }
  definition: FieldTable
}

/** `statistics`: a queue's statistics beyond its counts (statistics.ts queueStatistics) */
export function queueJson(q: Queue, policies: QueuePolicies, statistics: object = {}): Json {
  return {
    name: q.name,
    vhost: q.vhost,
    type: queueType(q),
    node: NODE,
    durable: q.options.durable,
    auto_delete: q.options.autoDelete,
    exclusive: q.owner !== null,
    arguments: tableJson(q.options.arguments),
    state: 'running',
    consumers: q.consumerCount,
    messages: q.messageCount + q.unackedCount,
    messages_ready: q.messageCount,
    messages_unacknowledged: q.unackedCount,
    ...statistics,
    single_active_consumer_tag: q.settings.singleActiveConsumer ? (q.activeConsumer?.tag ?? null) : null,
    policy: policies.policy?.name ?? null,
    operator_policy: policies.operatorPolicy?.name ?? null,
    effective_policy_definition: tableJson(policies.definition),
    ...queueStatsJson(q),
    exclusive_consumer_tag: null,
  }
}

/**
 * RabbitMQ's properties_key, which names a binding in a URL: the routing key quoted ('~' for an empty
 * one), then '~' and a hash of the arguments if there are any. RabbitMQ's hash is Erlang's phash2; this one
 * is Warren's own (clients take the key from a listing and give it back, never compute it).
 */
export function propertiesKey(routingKey: string, args: FieldTable): string {
  const quoted = encodeURIComponent(routingKey).replace(/%20/g, '+').replace(/~/g, '%7E')
  if (Object.keys(args).length === 0) return routingKey === '' ? '~' : quoted
  const hash = createHash('sha256')
    .update(JSON.stringify(tableJson(args)))
    .digest()
    .subarray(0, 4)
  return `${quoted}~${hash.toString('base64url')}`
}

export interface BindingView {
  source: string
  vhost: string
  destination: string
  destination_type: 'queue' | 'exchange'
  routing_key: string
  arguments: { [key: string]: Json }
  properties_key: string
}

export function bindingJson(vhost: string, b: Binding): BindingView {
  return {
    source: b.source.name,
    vhost,
    destination: b.destination.name,
    destination_type: b.destination.kind,
    routing_key: b.routingKey,
    arguments: tableJson(b.arguments),
    properties_key: propertiesKey(b.routingKey, b.arguments),
  }
}

/** Every binding of a vhost, the default exchange's implicit one to each queue first, as RabbitMQ lists them */
export function vhostBindings(v: Vhost): BindingView[] {
  const out: BindingView[] = []
  for (const q of v.queues.values()) {
    out.push({
      source: '',
      vhost: v.name,
      destination: q.name,
      destination_type: 'queue',
      routing_key: q.name,
      arguments: {},
      properties_key: propertiesKey(q.name, {}),
    })
  }
  for (const e of v.exchanges.values()) for (const b of e.bindings.values()) out.push(bindingJson(v.name, b))
  return out
}

/** A JSON object as a field table (arguments, headers): numbers, strings, booleans, lists, tables */
export function tableFromJson(value: unknown): FieldTable {
  if (value === undefined || value === null || value === '') return {}
  if (typeof value !== 'object' || Array.isArray(value)) throw badRequest('arguments must be an object')
  const table: FieldTable = {}
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) table[k] = fieldFromJson(v)
  return table
}

function fieldFromJson(v: unknown): FieldValue {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v
  if (Array.isArray(v)) return v.map(fieldFromJson)
  if (typeof v === 'object') return tableFromJson(v)
  throw badRequest('unsupported argument value')
}
