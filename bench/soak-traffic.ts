/**
 * The soak's workers: confirm publishers, consumers that ack, nack and reject, a basic.get poller and a
 * dead-letter consumer (the churners are in soak-churn.ts). Each is a loop
 * that runs until `soak.stopping` (publishers, churners) or `soak.finished` (consumers) and survives the
 * connection or channel errors it meets, counting them by kind.
 */
import { connect, type Channel, type ChannelModel, type ConfirmChannel, type Message } from 'amqplib'
import { sleep } from './clock.js'
import { idOfMessageId, messageIdOf, type Ledger, type Route } from './soak-ledger.js'

export interface Topology {
  durable: string[]
  transient: string[]
  maxLength: string
  ttl: string
  churn: string
  deadLetter: string
  deadLetterExchange: string
  fanout: string
  unroutableKey: string
  prefix: string
}

export function topologyFor(prefix: string): Topology {
  return {
    durable: [0, 1, 2].map((n) => `${prefix}.durable-${n}`),
    transient: [0, 1].map((n) => `${prefix}.transient-${n}`),
    maxLength: `${prefix}.max-length`,
    ttl: `${prefix}.ttl`,
    churn: `${prefix}.churn`,
    deadLetter: `${prefix}.dlq`,
    deadLetterExchange: `${prefix}.dlx`,
    fanout: `${prefix}.fanout`,
    unroutableKey: `${prefix}.nowhere`,
    prefix,
  }
}

export const MAX_LENGTH = 100
export const QUEUE_TTL_MS = 1000

export async function declareTopology(channel: Channel, t: Topology): Promise<void> {
  await channel.assertExchange(t.deadLetterExchange, 'fanout', { durable: true })
  await channel.assertQueue(t.deadLetter, { durable: true })
  await channel.bindQueue(t.deadLetter, t.deadLetterExchange, '')
  await channel.assertExchange(t.fanout, 'fanout', { durable: false })
  const deadLettering = { 'x-dead-letter-exchange': t.deadLetterExchange }
  for (const q of t.durable) await channel.assertQueue(q, { durable: true, arguments: deadLettering })
  for (const q of t.transient) await channel.assertQueue(q, { durable: false, arguments: deadLettering })
  await channel.assertQueue(t.maxLength, {
    durable: true,
    arguments: { 'x-max-length': MAX_LENGTH, 'x-overflow': 'reject-publish' },
  })
  await channel.assertQueue(t.ttl, { durable: true, arguments: { 'x-message-ttl': QUEUE_TTL_MS } })
  await channel.assertQueue(t.churn, { durable: true })
}

export async function deleteTopology(channel: Channel, t: Topology): Promise<void> {
  for (const q of [...t.durable, ...t.transient, t.maxLength, t.ttl, t.churn, t.deadLetter]) {
    await channel.deleteQueue(q)
  }
  await channel.deleteExchange(t.deadLetterExchange)
  await channel.deleteExchange(t.fanout)
}

/** Counts of things that happened, by kind; `errors` are failures, `events` expected occurrences. */
export class Tally {
  readonly errors = new Map<string, number>()
  readonly events = new Map<string, number>()

  /** `expected`: errors that are events here, e.g. a basic.get on a queue another loop has just deleted */
  constructor(private readonly expected: RegExp[] = []) {}

  error(where: string, err: unknown): void {
    const text = describe(err)
    if (this.expected.some((pattern) => pattern.test(text))) bump(this.events, `${where}: ${text}`)
    else bump(this.errors, `${where}: ${text}`)
  }

  event(kind: string, by = 1): void {
    bump(this.events, kind, by)
  }

  errorCount(): number {
    let total = 0
    for (const n of this.errors.values()) total += n
    return total
  }
}

function bump(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by)
}

/** An error without the parts that differ from one occurrence to the next (channel ids, tags). */
export function describe(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return text
    .replace(/channel \d+/gi, 'channel N')
    .replace(/amq\.(gen|ctag)-[\w-]+/g, 'amq.$1-X')
    .replace(/'[^']*\.auto-\d+'/g, "'AUTO'")
    .slice(0, 200)
}

export interface SoakState {
  url: string
  topology: Topology
  ledger: Ledger
  tally: Tally
  /** publishers and churners finish what they do and stop */
  stopping: boolean
  /** consumers stop nacking and rejecting, the poller gets as fast as it can */
  draining: boolean
  /** everything stops */
  finished: boolean
  /** messages per second per publisher */
  rate: number
  /** kinds of traffic left out (--skip) */
  skip: Set<Route>
  /** unconfirmed messages per publisher */
  window: number
  connectionsOpened: number
  channelsOpened: number
  queuesDeclared: number
  queuesDeleted: number
}

export const random = Math.random
export const between = (low: number, high: number): number => low + Math.floor(random() * (high - low + 1))
export const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!

/** One buffer that every body is a slice of; the content does not matter, only the message-id. */
export const BODIES = Buffer.alloc(256 * 1024, 'soak-')

function bodySize(): number {
  const r = random()
  if (r < 0.9) return between(16, 1024)
  if (r < 0.99) return between(1024, 16 * 1024)
  return between(64 * 1024, 256 * 1024)
}

export async function openConnection(soak: SoakState, label: string): Promise<ChannelModel> {
  const model = await connect(soak.url)
  soak.connectionsOpened++
  // Without a listener an 'error' event would throw; the close that follows is what the loops react to
  model.on('error', (err: unknown) => soak.tally.error(`${label} connection`, err))
  model.on('blocked', () => soak.tally.event('connection.blocked'))
  return model
}

/**
 * Acks a delivery and records the message as consumed; false (and not recorded) if the channel is
 * closing or closed, as then the broker requeues it.
 */
export function ack(
  soak: SoakState,
  channel: Channel,
  message: Message,
  queue: 'own' | 'dead-letter' = 'own',
): boolean {
  try {
    channel.ack(message)
  } catch {
    return false
  }
  if (queue === 'own') soak.ledger.consumed(idOfMessageId(message.properties.messageId))
  return true
}

export function watchChannel<C extends Channel>(soak: SoakState, channel: C, label: string): C {
  soak.channelsOpened++
  channel.on('error', (err: unknown) => soak.tally.error(`${label} channel`, err))
  return channel
}

export async function closeQuietly(model: ChannelModel | null): Promise<void> {
  if (model === null) return
  try {
    await model.close()
  } catch {
    // already closed: the error was counted where it happened
  }
}

/** A client crash as the broker sees it: the socket goes away without connection.close. */
export function dropSocket(model: ChannelModel): void {
  // amqplib reports the lost socket as a connection error: expected here
  model.removeAllListeners('error')
  model.on('error', () => {})
  const stream = (model as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream
  stream?.destroy()
}

// ---- publishers ------------------------------------------------------------------------------------------

interface Target {
  route: Route
  weight: number
}

const TARGETS: Target[] = [
  { route: 'durable', weight: 40 },
  { route: 'transient', weight: 20 },
  { route: 'max-length', weight: 10 },
  { route: 'ttl', weight: 10 },
  { route: 'churn', weight: 10 },
  { route: 'unroutable', weight: 4 },
  { route: 'ephemeral', weight: 6 },
]
const TOTAL_WEIGHT = TARGETS.reduce((sum, t) => sum + t.weight, 0)

function pickRoute(skip: Set<Route>): Route {
  const targets = skip.size === 0 ? TARGETS : TARGETS.filter((t) => !skip.has(t.route))
  const total = skip.size === 0 ? TOTAL_WEIGHT : targets.reduce((sum, t) => sum + t.weight, 0)
  let r = random() * total
  for (const target of targets) {
    r -= target.weight
    if (r < 0) return target.route
  }
  return targets[0]!.route
}

class PublishWindow {
  inflight = 0
  private wake: (() => void) | null = null

  settle(): void {
    this.inflight--
    const wake = this.wake
    this.wake = null
    wake?.()
  }

  /** Resolves once fewer than `limit` are in flight (or after 1 s, to look at the stop flag again). */
  async room(limit: number): Promise<void> {
    while (this.inflight >= limit) {
      await new Promise<void>((resolve) => {
        this.wake = resolve
        setTimeout(resolve, 1000)
      })
    }
  }
}

function publishOne(soak: SoakState, channel: ConfirmChannel, window: PublishWindow): void {
  const { ledger, topology: t } = soak
  const route = pickRoute(soak.skip)
  const id = ledger.issue(route)
  const size = bodySize()
  const body = BODIES.subarray(0, size)
  let exchange = ''
  let key: string
  let persistent = true
  let mandatory = false
  let expiration: string | undefined
  switch (route) {
    case 'durable':
      key = pick(t.durable)
      break
    case 'transient':
      key = pick(t.transient)
      persistent = false
      break
    case 'max-length':
      key = t.maxLength
      break
    case 'ttl':
      key = t.ttl
      persistent = random() < 0.5
      if (random() < 0.3) expiration = String(between(100, 2000))
      break
    case 'churn':
      key = t.churn
      mandatory = true
      break
    case 'unroutable':
      exchange = 'amq.direct'
      key = t.unroutableKey
      mandatory = true
      persistent = random() < 0.5
      break
    case 'ephemeral':
      exchange = t.fanout
      key = ''
      persistent = false
      break
  }
  window.inflight++
  channel.publish(
    exchange,
    key,
    body,
    { messageId: messageIdOf(id), persistent, mandatory, expiration },
    (err: unknown) => {
      window.settle()
      if (err === null || err === undefined) ledger.confirmed(id)
      else if (err instanceof Error && err.message === 'message nacked') ledger.nacked(id)
      // else the channel closed first: neither confirmed nor nacked
    },
  )
}

/**
 * A confirm publisher at `soak.rate` msg/s with at most `soak.window` unconfirmed. It reopens its channel
 * every few seconds and its connection every minute or so, each time after every confirm has arrived.
 */
export async function runPublisher(soak: SoakState, index: number): Promise<void> {
  const label = `publisher ${index}`
  while (!soak.stopping) {
    let model: ChannelModel | null = null
    try {
      model = await openConnection(soak, label)
      const connectionEnd = performance.now() + between(30_000, 90_000)
      while (!soak.stopping && performance.now() < connectionEnd) {
        const channel = watchChannel(soak, await model.createConfirmChannel(), label)
        channel.on('return', (message: Message) => {
          soak.ledger.returned(idOfMessageId(message.properties.messageId))
          soak.tally.event('basic.return')
        })
        const window = new PublishWindow()
        const channelEnd = performance.now() + between(5_000, 20_000)
        const started = performance.now()
        let sent = 0
        while (!soak.stopping && performance.now() < channelEnd) {
          await window.room(soak.window)
          // Pace: publish what is due by now, then sleep a little
          const due = ((performance.now() - started) / 1000) * soak.rate
          if (sent >= due) {
            await sleep(10)
            continue
          }
          const burst = Math.min(Math.ceil(due - sent), soak.window - window.inflight, 50)
          for (let i = 0; i < burst; i++) publishOne(soak, channel, window)
          sent += burst
          // Let confirms and socket writes through
          await new Promise((resolve) => setImmediate(resolve))
        }
        // Not waitForConfirms: it fails on a nack, and nacks are expected here
        await window.room(1)
        await channel.close()
      }
    } catch (err) {
      soak.tally.error(label, err)
      await sleep(500)
    } finally {
      await closeQuietly(model)
    }
  }
}

// ---- consumers -------------------------------------------------------------------------------------------

/**
 * Consumes every durable and transient queue with a prefetch limit: acks most deliveries, nacks some with
 * requeue, rejects some without (they go to the dead-letter queue), and holds some for a while before
 * acking; the held ones are left unacked when it reconnects, every minute or so.
 */
export async function runConsumer(soak: SoakState, index: number): Promise<void> {
  const label = `consumer ${index}`
  const { ledger, topology: t } = soak
  while (!soak.finished) {
    let model: ChannelModel | null = null
    let timer: ReturnType<typeof setInterval> | undefined
    try {
      model = await openConnection(soak, label)
      const channel = watchChannel(soak, await model.createChannel(), label)
      let closed = false
      channel.on('close', () => (closed = true))
      await channel.prefetch(between(10, 200))
      let held: Message[] = []
      timer = setInterval(() => {
        if (closed) return
        for (const message of held) {
          ack(soak, channel, message)
        }
        held = []
      }, 250)
      const onMessage = (message: Message | null): void => {
        if (message === null) {
          soak.tally.event('consumer cancelled by the broker')
          return
        }
        const id = idOfMessageId(message.properties.messageId)
        ledger.delivered(id, message.fields.redelivered)
        const r = soak.draining ? 1 : random()
        if (r < 0.1 && r >= 0.05) {
          held.push(message)
        } else if (r >= 0.1) {
          ack(soak, channel, message)
        } else {
          try {
            if (r < 0.03) {
              channel.nack(message, false, true)
            } else {
              ledger.rejected(id)
              channel.reject(message, false)
            }
          } catch {
            // the channel is closing: the broker requeues the message
          }
        }
      }
      for (const q of [...t.durable, ...t.transient]) await channel.consume(q, onMessage)
      const end = performance.now() + between(30_000, 90_000)
      while (!soak.finished && !closed && (soak.draining || performance.now() < end)) await sleep(100)
      if (closed) throw new Error('channel closed')
      if (soak.finished) {
        for (const message of held) {
          ack(soak, channel, message)
        }
      } else if (held.length > 0) {
        soak.tally.event('consumer connection closed with unacked messages')
      }
    } catch (err) {
      soak.tally.error(label, err)
      await sleep(500)
    } finally {
      clearInterval(timer)
      await closeQuietly(model)
    }
  }
}

/** Consumes the dead-letter queue and acks everything. */
export async function runDeadLetterConsumer(soak: SoakState): Promise<void> {
  const label = 'dead-letter consumer'
  while (!soak.finished) {
    let model: ChannelModel | null = null
    try {
      model = await openConnection(soak, label)
      const channel = watchChannel(soak, await model.createChannel(), label)
      let closed = false
      channel.on('close', () => (closed = true))
      await channel.prefetch(100)
      await channel.consume(soak.topology.deadLetter, (message) => {
        if (message === null) return
        const id = idOfMessageId(message.properties.messageId)
        soak.ledger.deadLetterDelivered(id, message.fields.redelivered)
        if (ack(soak, channel, message, 'dead-letter')) soak.ledger.deadLetterConsumed(id)
      })
      while (!soak.finished && !closed) await sleep(100)
    } catch (err) {
      soak.tally.error(label, err)
      await sleep(500)
    } finally {
      await closeQuietly(model)
    }
  }
}

/**
 * basic.get from the max-length queue (slower than it fills, so publishes to it are nacked), the TTL
 * queue (so some messages expire first) and the churn queue (which may not exist at that moment: a 404
 * closes that channel, which is expected).
 */
export async function runPoller(soak: SoakState): Promise<void> {
  const label = 'poller'
  const { topology: t, ledger } = soak
  const get = async (channel: Channel, queue: string): Promise<boolean> => {
    const message = await channel.get(queue, { noAck: false })
    if (message === false) return false
    ledger.delivered(idOfMessageId(message.properties.messageId), message.fields.redelivered)
    ack(soak, channel, message)
    return true
  }
  while (!soak.finished) {
    let model: ChannelModel | null = null
    try {
      model = await openConnection(soak, label)
      const channel = watchChannel(soak, await model.createChannel(), label)
      let churnChannel: Channel | null = null
      let round = 0
      while (!soak.finished) {
        round++
        let got = false
        if (soak.draining || round % 2 === 0) got = (await get(channel, t.maxLength)) || got
        if (soak.draining || round % 3 === 0) got = (await get(channel, t.ttl)) || got
        if (churnChannel === null) churnChannel = watchChannel(soak, await model.createChannel(), label)
        try {
          got = (await get(churnChannel, t.churn)) || got
        } catch (err) {
          // The churner deleted the queue in between: 404 closes the channel (counted as an event)
          if (!/NOT_FOUND|404/.test(describe(err))) throw err
          churnChannel = null
        }
        if (!soak.draining) await sleep(10)
        else if (!got) await sleep(50)
      }
    } catch (err) {
      soak.tally.error(label, err)
      await sleep(500)
    } finally {
      await closeQuietly(model)
    }
  }
}
