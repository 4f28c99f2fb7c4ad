// Runs one crash program against a Warren child process: the ops in order (each awaited; a publish op only
// sends), SIGKILL at the program's kill point, a restart on the same data directory, then everything the
// invariant needs is observed (queues, exchanges, bindings through probe messages, every message left in the
// durable queues). The result is an Observation for checkObservation().
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import amqp from 'amqplib'
import type { Channel, ChannelModel, ConfirmChannel, Message, Options } from 'amqplib'
import { startBrokerProcess, type BrokerProcess } from '../../helpers/broker-process.js'
import type { CopyEvent, DrainedMessage, Observation, PublishRecord } from './check.js'
import { sleep } from '../../helpers/amqplib.js'
import {
  DURABLE_QUEUES,
  EXCHANGE_TYPE,
  EXCHANGES,
  isDurableQueue,
  LARGE_BODY_MIN,
  QUEUES,
  ROUTING_KEYS,
  RoutingModel,
  type CrashProgram,
  type ExchangeName,
  type Op,
  type QueueName,
} from './program.js'

/** An op that takes longer than this is a hang: the program stops there and is killed anyway. */
const OP_TIMEOUT_MS = 10_000

export interface RunResult {
  observation: Observation
  /** ops executed before the kill */
  operations: number
  /** messages published, and confirmed by the broker */
  published: number
  confirmed: number
  /** deliveries (consume or get) before the kill */
  delivered: number
  ms: number
}

// ---------------------------------------------------------------------------------------------------------
// Messages: the body and properties follow from the id, so any delivery can be checked on its own

interface Sent {
  record: PublishRecord
  exchange: string
  routingKey: string
  large: boolean
}

function hash32(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}

export function bodyOf(id: string, large: boolean): Buffer {
  const size = large ? LARGE_BODY_MIN + (hash32(id) % 60_000) : id.length + 1 + (hash32(id) % 600)
  const body = Buffer.alloc(size)
  const head = body.write(`${id}|`)
  const seed = createHash('sha256').update(id).digest()
  for (let i = head; i < size; i += seed.length) seed.copy(body, i, 0, Math.min(seed.length, size - i))
  return body
}

function propertiesOf(id: string, persistent: boolean): Options.Publish {
  return {
    persistent,
    messageId: id,
    correlationId: `c-${hash32(id)}`,
    contentType: 'application/octet-stream',
    headers: { 'x-id': id },
  }
}

/** The id of a delivery and what is wrong with it (empty: nothing). */
function inspect(msg: Message, sent: Map<string, Sent>): { id?: string; problems: string[] } {
  const bar = msg.content.indexOf('|')
  const id = bar > 0 ? msg.content.subarray(0, bar).toString('latin1') : undefined
  const s = id === undefined ? undefined : sent.get(id)
  if (id === undefined || !s) {
    const head = msg.content.subarray(0, 40).toString('latin1')
    return { id, problems: [`delivery of an unknown message (body starts ${JSON.stringify(head)})`] }
  }
  const problems: string[] = []
  if (!bodyOf(id, s.large).equals(msg.content)) problems.push(`body damaged (${msg.content.length} bytes)`)
  const p = msg.properties
  const want = propertiesOf(id, s.record.persistent)
  if (p.messageId !== id) problems.push(`message-id ${String(p.messageId)}`)
  if (p.correlationId !== want.correlationId) problems.push(`correlation-id ${String(p.correlationId)}`)
  if (p.contentType !== want.contentType) problems.push(`content-type ${String(p.contentType)}`)
  if (p.deliveryMode !== (s.record.persistent ? 2 : 1)) problems.push(`delivery-mode ${String(p.deliveryMode)}`)
  if ((p.headers as Record<string, unknown> | undefined)?.['x-id'] !== id)
    problems.push(`headers ${JSON.stringify(p.headers)}`)
  if (msg.fields.exchange !== s.exchange || msg.fields.routingKey !== s.routingKey)
    problems.push(`exchange/routing key '${msg.fields.exchange}'/'${msg.fields.routingKey}'`)
  return { id, problems: problems.map((text) => `${id}: ${text}`) }
}

// ---------------------------------------------------------------------------------------------------------

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err))

interface Held {
  msg: Message
  queue: QueueName
  id: string
}

/** One channel of the program; closed and reopened by closeChannel ops. */
interface Slot {
  confirm: boolean
  connection: number
  ch?: Channel | ConfirmChannel
  closing: boolean
  /** unacked deliveries, in delivery-tag order */
  held: Held[]
  /** the queue of each consumer, by tag */
  consumers: string[]
  consumerQueues: Map<string, QueueName>
  /** published since the last fence (see fence below) */
  unfenced: boolean
}

export async function runCrashProgram(program: CrashProgram, seed: number): Promise<RunResult> {
  const started = Date.now()
  const prefix = `c${seed}.`
  const queueName = (q: string) => prefix + q
  const exchangeName = (e: string) => (e === '' ? '' : prefix + e)

  const problems: string[] = []
  const events: CopyEvent[] = []
  const sent = new Map<string, Sent>()
  const model = new RoutingModel()
  const unseenRequeues = new Set<QueueName>()
  let killed = false
  let delivered = 0
  let messageNumber = 0

  const dataDir = await mkdtemp(join(tmpdir(), 'warren-crash-'))
  let broker: BrokerProcess | undefined
  const connections: ChannelModel[] = []
  try {
    broker = await startBrokerProcess({ dataDir })
    const closed: Promise<void>[] = []
    for (let i = 0; i < 2; i++) {
      const conn = await amqp.connect(broker.url)
      conn.on('error', () => {})
      closed.push(
        new Promise<void>((resolve) =>
          conn.once('close', (err?: Error) => {
            if (!killed) problems.push(`connection ${i} closed before the kill: ${err?.message ?? 'no error'}`)
            resolve()
          }),
        ),
      )
      connections.push(conn)
    }
    const slots: Slot[] = program.channels.map((spec) => ({
      ...spec,
      closing: false,
      held: [],
      consumers: [],
      consumerQueues: new Map(),
      unfenced: false,
    }))

    const onDelivery = (slot: Slot, ch: Channel, queue: QueueName, msg: Message) => {
      delivered++
      const { id, problems: damage } = inspect(msg, sent)
      problems.push(...damage.map((text) => `${queue} before the crash: ${text}`))
      if (id === undefined || !sent.has(id)) return
      events.push({ queue, id, kind: 'deliver', redelivered: msg.fields.redelivered })
      // a delivery racing our channel.close goes back to the queue with the rest
      if (slot.ch !== ch || slot.closing) events.push({ queue, id, kind: 'requeue' })
      else slot.held.push({ msg, queue, id })
    }

    const channelOf = async (slot: Slot): Promise<Channel | ConfirmChannel> => {
      if (slot.ch) return slot.ch
      const conn = connections[slot.connection]!
      const ch = slot.confirm ? await conn.createConfirmChannel() : await conn.createChannel()
      ch.on('error', (err: Error) => {
        if (!killed) problems.push(`channel error before the kill: ${err.message}`)
      })
      ch.on('close', () => {
        // after the kill nothing is requeued: the unacked copies stay owed, to come back with the restart
        if (slot.ch !== ch || killed) return
        // closed by the broker (an error, reported above) or by our closeChannel: unacked copies are requeued
        for (const h of slot.held) events.push({ queue: h.queue, id: h.id, kind: 'requeue' })
        slot.held = []
        slot.consumers = []
        slot.ch = undefined
      })
      slot.ch = ch
      return ch
    }

    /** Removes the held deliveries an ack/nack/reject settles and records what became of them. */
    const settle = (slot: Slot, pick: number, multiple: boolean, kind: 'ack' | 'drop' | 'requeue') => {
      const target = slot.held[pick % slot.held.length]!
      const tag = target.msg.fields.deliveryTag
      const covered = multiple ? slot.held.filter((h) => h.msg.fields.deliveryTag <= tag) : [target]
      slot.held = slot.held.filter((h) => !covered.includes(h))
      for (const h of covered) events.push({ queue: h.queue, id: h.id, kind })
      return target.msg
    }

    const publish = (slot: Slot, ch: Channel, op: Extract<Op, { kind: 'publish' }>) => {
      const queues = model.route(op.exchange, op.key)
      const exchange = exchangeName(op.exchange)
      const routingKey = op.exchange === '' ? queueName(op.key) : op.key
      for (let i = 0; i < op.count; i++) {
        const id = `${prefix}m${messageNumber++}`
        const record: PublishRecord = {
          id,
          queues,
          persistent: op.persistent,
          confirm: slot.confirm ? 'lost' : 'none',
        }
        sent.set(id, { record, exchange, routingKey, large: op.large })
        const body = bodyOf(id, op.large)
        const properties = propertiesOf(id, op.persistent)
        if (slot.confirm) {
          ;(ch as ConfirmChannel).publish(exchange, routingKey, body, properties, (err) => {
            record.confirm = err === null ? 'ack' : err.message === 'message nacked' ? 'nack' : 'lost'
          })
        } else {
          ch.publish(exchange, routingKey, body, properties)
        }
      }
    }

    // A publish op only sends, so a bind on another channel could overtake it and change where it goes.
    // Before an op that changes routing, every other channel that published since is fenced: a round trip
    // on that channel (the broker handles a channel's frames in order) means its publishes have been routed.
    const fence = async (except: Slot) => {
      for (const slot of slots) {
        if (slot === except || !slot.unfenced || !slot.ch) continue
        await slot.ch.checkExchange('amq.direct')
        slot.unfenced = false
      }
    }

    const execute = async (op: Op): Promise<void> => {
      if (op.kind === 'sleep') return sleep(op.ms)
      let slot = slots[op.ch]!
      if (op.kind === 'ack' || op.kind === 'nack' || op.kind === 'reject') {
        // settle on the first channel from op.ch on that holds deliveries, so that settlements are frequent
        for (let i = 0; i < slots.length && slot.held.length === 0; i++) slot = slots[(op.ch + i) % slots.length]!
      }
      if (op.kind === 'declareQueue' || op.kind === 'bind' || op.kind === 'unbind') await fence(slot)
      switch (op.kind) {
        case 'declareQueue': {
          const ch = await channelOf(slot)
          const durable = isDurableQueue(op.queue)
          await ch.assertQueue(queueName(op.queue), { durable, autoDelete: false, exclusive: false })
          break
        }
        case 'declareExchange':
          await (
            await channelOf(slot)
          ).assertExchange(exchangeName(op.exchange), EXCHANGE_TYPE[op.exchange], {
            durable: true,
            autoDelete: false,
          })
          break
        case 'bind':
          await (await channelOf(slot)).bindQueue(queueName(op.queue), exchangeName(op.exchange), op.key)
          break
        case 'unbind':
          await (await channelOf(slot)).unbindQueue(queueName(op.queue), exchangeName(op.exchange), op.key)
          break
        case 'publish':
          publish(slot, await channelOf(slot), op)
          slot.unfenced = true
          break
        case 'waitForConfirms':
          // a nack or a closed channel only means those publishes are not confirmed
          if (slot.confirm && slot.ch) await (slot.ch as ConfirmChannel).waitForConfirms().catch(() => {})
          break
        case 'consume': {
          const ch = await channelOf(slot)
          await ch.prefetch(op.prefetch)
          const { consumerTag } = await ch.consume(
            queueName(op.queue),
            (msg) => {
              if (msg) onDelivery(slot, ch, op.queue, msg)
              else if (!killed) problems.push(`consumer on ${op.queue} cancelled by the broker`)
            },
            { noAck: false },
          )
          slot.consumers.push(consumerTag)
          slot.consumerQueues.set(consumerTag, op.queue)
          break
        }
        case 'cancel':
          if (slot.ch && slot.consumers.length > 0) {
            const tag = slot.consumers.splice(op.pick % slot.consumers.length, 1)[0]!
            await slot.ch.cancel(tag)
          }
          break
        case 'get': {
          const ch = await channelOf(slot)
          const msg = await ch.get(queueName(op.queue), { noAck: false })
          if (msg) onDelivery(slot, ch, op.queue, msg)
          break
        }
        case 'ack':
          if (slot.ch && slot.held.length > 0) slot.ch.ack(settle(slot, op.pick, op.multiple, 'ack'), op.multiple)
          break
        case 'nack':
          if (slot.ch && slot.held.length > 0) {
            const msg = settle(slot, op.pick, op.multiple, op.requeue ? 'requeue' : 'drop')
            slot.ch.nack(msg, op.multiple, op.requeue)
          }
          break
        case 'reject':
          if (slot.ch && slot.held.length > 0)
            slot.ch.reject(settle(slot, op.pick, false, op.requeue ? 'requeue' : 'drop'), op.requeue)
          break
        case 'closeChannel':
          if (slot.ch) {
            const ch = slot.ch
            for (const tag of slot.consumers) unseenRequeues.add(slot.consumerQueues.get(tag)!)
            slot.closing = true
            try {
              await ch.close()
            } finally {
              slot.closing = false
              // the 'close' handler has recorded the requeues unless the channel was already replaced
              for (const h of slot.held) events.push({ queue: h.queue, id: h.id, kind: 'requeue' })
              slot.held = []
              slot.consumers = []
              if (slot.ch === ch) slot.ch = undefined
            }
          }
          break
      }
    }

    // ---- the program, up to the kill point
    let operations = 0
    for (let i = 0; i <= program.kill.afterOp; i++) {
      const op = program.ops[i]!
      try {
        await withTimeout(execute(op), OP_TIMEOUT_MS, `op ${i} ${JSON.stringify(op)}`)
        model.apply(op)
      } catch (err) {
        problems.push(`op ${i} ${JSON.stringify(op)} failed: ${errorText(err)}`)
        if (errorText(err).startsWith('timed out')) break
      }
      operations++
    }
    if (program.kill.delayMs > 0) await sleep(program.kill.delayMs)
    killed = true
    const exit = await broker.crash()
    if (exit.signal !== 'SIGKILL')
      problems.push(`the broker had exited by itself before the kill: ${JSON.stringify(exit)}`)
    await withTimeout(Promise.all(closed), 10_000, 'the clients to see the broker gone').catch((err: unknown) => {
      problems.push(errorText(err))
    })

    const observation: Observation = {
      declaredQueues: [...model.queues].sort(),
      declaredExchanges: [...model.exchanges].sort(),
      publishes: [...sent.values()].map((s) => s.record),
      events,
      restarted: false,
      queuesAfterRestart: {},
      exchangesAfterRestart: {},
      drained: [],
      bindingsExpected: [
        ...new Set(
          model.durableBindings().map((b) => {
            const [e, q, k] = b.split(' ') as [ExchangeName, string, string]
            return EXCHANGE_TYPE[e] === 'fanout' ? `${e} ${q} *` : `${e} ${q} ${k}`
          }),
        ),
      ].sort(),
      bindingsFound: [],
      unseenRequeues: [...unseenRequeues].sort(),
      problems,
    }
    const published = sent.size
    const confirmed = observation.publishes.filter((p) => p.confirm === 'ack').length

    // ---- the restart and what it brought back
    try {
      broker = await broker.restart()
    } catch (err) {
      problems.push(`restart failed: ${errorText(err)}`)
      return { observation, operations, published, confirmed, delivered, ms: Date.now() - started }
    }
    observation.restarted = true
    await withTimeout(
      observeAfterRestart(broker.url, observation, sent, prefix),
      30_000,
      'the checks after the restart',
    ).catch((err: unknown) => problems.push(`after the restart: ${errorText(err)}`))
    return { observation, operations, published, confirmed, delivered, ms: Date.now() - started }
  } finally {
    for (const conn of connections) await conn.close().catch(() => {})
    if (broker) await broker.crash().catch(() => {})
    await rm(dataDir, { recursive: true, force: true })
  }
}

/** Passive declares of every name of the pool, a drain of the durable queues, binding probes. */
async function observeAfterRestart(
  url: string,
  o: Observation,
  sent: Map<string, Sent>,
  prefix: string,
): Promise<void> {
  const conn = await amqp.connect(url)
  conn.on('error', () => {})
  try {
    // a passive declare of a missing name closes its channel (404): one channel per question
    const exists = async (check: (ch: Channel) => Promise<unknown>): Promise<unknown> => {
      const ch = await conn.createChannel()
      ch.on('error', () => {})
      try {
        const answer = await check(ch)
        await ch.close()
        return answer
      } catch (err) {
        if ((err as { code?: number }).code === 404) return undefined
        throw err
      }
    }
    for (const queue of QUEUES) {
      const ok = (await exists((ch) => ch.checkQueue(prefix + queue))) as { messageCount: number } | undefined
      o.queuesAfterRestart[queue] = ok ? { exists: true, messageCount: ok.messageCount } : { exists: false }
    }
    for (const exchange of EXCHANGES) {
      o.exchangesAfterRestart[exchange] = (await exists((ch) => ch.checkExchange(prefix + exchange))) !== undefined
    }

    const ch = await conn.createConfirmChannel()
    const present = DURABLE_QUEUES.filter((q) => o.queuesAfterRestart[q]?.exists)
    const drain = async (queue: QueueName, take: (msg: Message) => void) => {
      for (let n = 0; n < 100_000; n++) {
        const msg = await ch.get(prefix + queue, { noAck: true })
        if (!msg) return
        take(msg)
      }
    }
    for (const queue of present) {
      await drain(queue, (msg) => {
        const { id, problems } = inspect(msg, sent)
        o.problems.push(...problems.map((text) => `${queue} after the restart: ${text}`))
        if (id !== undefined && sent.has(id)) {
          const drained: DrainedMessage = { queue, id, redelivered: msg.fields.redelivered }
          o.drained.push(drained)
        }
      })
    }

    // Probes: one persistent message per durable exchange and key; where they land shows the bindings
    for (const exchange of EXCHANGES.filter((e) => o.exchangesAfterRestart[e])) {
      const keys = EXCHANGE_TYPE[exchange] === 'fanout' ? ['*'] : ROUTING_KEYS
      for (const key of keys) ch.publish(prefix + exchange, key, Buffer.from(`probe ${exchange} ${key}`))
    }
    await ch.waitForConfirms()
    for (const queue of present) {
      await drain(queue, (msg) => {
        const text = msg.content.toString('latin1')
        if (!text.startsWith('probe ')) o.problems.push(`${queue}: unexpected message after the drain: ${text}`)
        else o.bindingsFound.push(`${text.slice('probe '.length)}`.replace(/^(\S+) /, `$1 ${queue} `))
      })
    }
    o.bindingsFound.sort()
  } finally {
    await conn.close().catch(() => {})
  }
}
