// Dead-lettering as RabbitMQ does it: the message is republished to the queue's dead-letter exchange with
// an x-death entry (count, reason, queue, time, exchange, routing-keys, original-expiration) and the
// x-first-death-* headers; its expiration property is removed.
import { TypedValue, fieldString, type FieldTable, type FieldValue } from '../protocol/field-value.js'
import { encodeProperties } from '../protocol/properties.js'
import type { BasicProperties } from '../protocol/generated/properties.js'
import { Message } from './message.js'

export type DeathReason = 'rejected' | 'expired' | 'maxlen'

function isTable(v: FieldValue | undefined): v is FieldTable {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v) && !(v instanceof TypedValue)
}

/** The queues a message has already died in, for cycle detection. */
export function deathQueues(message: Message): { queue: string; reason: string }[] {
  const deaths = message.headers?.['x-death']
  if (!Array.isArray(deaths)) return []
  return deaths
    .filter(isTable)
    .map((d) => ({ queue: fieldString(d['queue']) ?? '', reason: fieldString(d['reason']) ?? '' }))
}

function sortedTable(t: FieldTable): FieldTable {
  const sorted = Object.create(null) as FieldTable
  for (const key of Object.keys(t).sort()) sorted[key] = t[key]!
  return sorted
}

export function deadLetteredMessage(
  message: Message,
  reason: DeathReason,
  queueName: string,
  deadLetterExchange: string,
  deadLetterRoutingKey: string | undefined,
): Message {
  const headers: FieldTable = { ...(message.headers ?? {}) }
  const routingKeys = [message.routingKey]
  const cc = headers['CC']
  if (Array.isArray(cc)) for (const k of cc) if (typeof k === 'string') routingKeys.push(k)

  const previous = Array.isArray(headers['x-death']) ? (headers['x-death'] as FieldValue[]).filter(isTable) : []
  const same = previous.findIndex((d) => fieldString(d['queue']) === queueName && fieldString(d['reason']) === reason)
  let deaths: FieldTable[]
  if (same >= 0) {
    // The same queue and reason again: count it, and move that entry to the front
    const entry = { ...previous[same]! }
    const count = Number(entry['count'] instanceof TypedValue ? entry['count'].value : (entry['count'] ?? 0))
    entry['count'] = new TypedValue('l', count + 1)
    entry['time'] = new TypedValue('T', Math.floor(Date.now() / 1000))
    deaths = [sortedTable(entry), ...previous.filter((_, i) => i !== same)]
  } else {
    const entry: FieldTable = {
      count: new TypedValue('l', 1),
      reason,
      queue: queueName,
      time: new TypedValue('T', Math.floor(Date.now() / 1000)),
      exchange: message.exchange,
      'routing-keys': routingKeys,
    }
    if (message.properties.expiration !== undefined) entry['original-expiration'] = message.properties.expiration
    // RabbitMQ writes a message's first x-death entry in build order, later ones with sorted keys
    deaths = previous.length === 0 ? [entry] : [sortedTable(entry), ...previous]
  }
  headers['x-death'] = deaths
  headers['x-first-death-queue'] ??= queueName
  headers['x-first-death-reason'] ??= reason
  headers['x-first-death-exchange'] ??= message.exchange
  // With a dead-letter routing key, the CC keys no longer apply
  if (deadLetterRoutingKey !== undefined) delete headers['CC']

  const { expiration: _expiration, ...rest } = message.properties
  // RabbitMQ re-encodes the headers of a dead letter sorted by key
  const properties: BasicProperties = { ...rest, headers: sortedTable(headers) }
  // The dead letter shares the body: it must not share a view of a socket read
  message.ownBody()
  return new Message(
    deadLetterExchange,
    deadLetterRoutingKey ?? message.routingKey,
    properties,
    encodeProperties(properties),
    message.body,
  )
}
