// What the runner knows of a broker's connections and channels, and how it reads what amqplib hands it.
import type { Channel, ChannelModel, Message } from 'amqplib'
import type { Json } from './trace.js'

export interface Connection {
  id: number
  model: ChannelModel
  open: boolean
}

export interface Chan {
  id: number
  conn: Connection
  ch: Channel
  open: boolean
  confirming: boolean
  /** publishes since confirm.select (the delivery tags confirms refer to) */
  published: number
  /** publish numbers not yet confirmed */
  unconfirmed: number[]
  /** delivery tags not yet acked, nacked or rejected (deliveries and gets without no-ack) */
  unsettled: number[]
  maxTag: number
  consumers: string[]
  /** consumers created on the channel so far: a consumer's number orders its deliveries (see canonicalTags) */
  consumersCreated: number
  /** this step's deliveries to the channel's consumers */
  stepDeliveries: { tag: number; consumer: number; event: Record<string, Json> }[]
  /** delivery tag as shown in the trace, by the tag the broker gave */
  shownTag: Map<number, number>
}

interface AmqpError {
  code?: number
  message?: string
}

/** The code and the server's text of an error amqplib made from a channel.close or connection.close. */
export function errorOf(err: unknown): Json {
  const e = err as AmqpError
  const message = String(e?.message ?? err)
  const text = /with message "(.*)"$/s.exec(message)?.[1]
  if (typeof e?.code === 'number' && text !== undefined) return { code: e.code, text }
  return { client: message.split('\n')[0] ?? '' }
}

export function propertiesOf(message: Message): Json {
  const props: Record<string, Json> = {}
  for (const [name, value] of Object.entries(message.properties)) {
    if (value !== undefined && value !== null) props[name] = value as Json
  }
  return props
}

/**
 * One publish routed to several queues consumed on the same channel reaches the channel in an order that
 * depends on the broker's scheduling (RabbitMQ's queues are separate processes), and so do the delivery
 * tags it assigns. The same goes, within one queue, for dead letters against the publishes they arrive
 * among (a dead letter comes from another queue's process). Within a step, the channel's deliveries are
 * therefore shown in a canonical order: by consumer (in the order the consumers were created), dead letters
 * after the others, then as they arrived; the tags the broker gave are handed out again in that order, and
 * the unsettled list follows it, so an ack of "the k-th unsettled delivery" settles the same message on
 * both brokers. Returns whether anything moved (the caller reorders the streams by tag).
 */
export function canonicalTags(chan: Chan): boolean {
  const deliveries = chan.stepDeliveries
  chan.stepDeliveries = []
  if (deliveries.length < 2) return false
  const tags = deliveries.map((d) => d.tag).sort((a, b) => a - b)
  const ordered = deliveries
    .map((d, i) => ({ ...d, i, dead: isDeadLetter(d.event) ? 1 : 0 }))
    .sort((a, b) => a.consumer - b.consumer || a.dead - b.dead || a.i - b.i)
  ordered.forEach((d, i) => {
    chan.shownTag.set(d.tag, tags[i]!)
    d.event['tag'] = tags[i]!
  })
  const fromStep = new Set(tags)
  chan.unsettled = [
    ...chan.unsettled.filter((tag) => !fromStep.has(tag)),
    ...ordered.map((d) => d.tag).filter((tag) => chan.unsettled.includes(tag)),
  ]
  return true
}

function isDeadLetter(event: Record<string, Json>): boolean {
  const props = event['props'] as { headers?: Record<string, Json> } | undefined
  return props?.headers?.['x-death'] !== undefined
}

/** A consumer stream's deliveries in the order of their (canonical) tags; a cancel stays last. */
export function sortByTag(events: Json[]): Json[] {
  const tagOf = (e: Json): number => {
    const tag = (e as Record<string, Json>)['tag']
    return typeof tag === 'number' ? tag : Number.MAX_SAFE_INTEGER
  }
  return [...events].sort((a, b) => tagOf(a) - tagOf(b))
}
