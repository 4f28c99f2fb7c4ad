// Runs one program against one broker with amqplib and records its trace (see trace.ts).
//
// The runner keeps a model of what the program has seen: the connections and channels open, the queues
// declared (server-named ones too), each channel's consumers and unsettled deliveries. The operations'
// numbers are resolved against it (program.ts), and it is updated only from what the broker answered, so
// two brokers that have answered alike so far resolve the next operation alike.
//
// After each operation the runner waits for the broker to settle: a round trip on the operation's channel
// (after a publish or an ack, which have no reply, this makes sure the broker has taken them in), then
// until no event has arrived for QUIET_MS. Events are attributed to the step during which they arrived.
import amqp from 'amqplib'
import type { ChannelModel, ConsumeMessage, GetMessage, Message, Options } from 'amqplib'
import { confirmSelect, txCommit, txRollback, txSelect, sleep } from '../helpers/amqplib.js'
import {
  EXCHANGE_POOL,
  QUEUE_POOL,
  WAIT_MS,
  type ExchangeRef,
  type Op,
  type Program,
  type QueueRef,
} from './program.js'
import type { Json, Step, Trace } from './trace.js'
import { canonicalTags, errorOf, propertiesOf, sortByTag, type Chan, type Connection } from './channel-model.js'

/** Silence after which a broker counts as settled. */
export const QUIET_MS = 20
/** The longest a settle waits for silence (a stream of events that never stops is itself a finding). */
const SETTLE_LIMIT_MS = 3000
const MAX_CONNECTIONS = 3
const MAX_CHANNELS = 6

export interface RunResult {
  trace: Trace
  /** operations actually run (not skipped for want of a channel or connection) */
  executed: number
  /** kinds of the operations actually run */
  kinds: Set<string>
}

let runs = 0

/** A run name that no other run on the same broker shares (programs run side by side). */
export function runPrefix(): string {
  return `dt${process.pid.toString(36)}x${(runs++).toString(36)}`
}

export class ProgramRunner {
  private readonly connections: Connection[] = []
  private readonly channels: Chan[] = []
  /** queue names seen declared (and not deleted), in order: what QueueRef.known indexes */
  private queues: string[] = []
  /** the same for the program's exchanges: what ExchangeRef.own indexes */
  private exchanges: string[] = []
  /** how each name was last declared successfully, for `again` */
  private readonly declared = new Map<string, Op>()
  private events: Record<string, Json[]> = {}
  private eventCount = 0
  private messages = 0
  private consumerTags = 0
  private readonly noAckConsumers = new Set<string>()

  constructor(
    private readonly url: string,
    /** every name the program creates starts with `${prefix}.` */
    readonly prefix: string,
  ) {}

  async run(program: Program): Promise<RunResult> {
    const trace: Trace = []
    const kinds = new Set<string>()
    let executed = 0
    try {
      const first = await this.openConnection()
      await this.openChannel(first, false)
      for (const op of program) {
        this.events = {}
        const step = await this.step(op)
        if (step.result !== 'skipped') {
          executed++
          kinds.add(op.k)
        }
        await this.settle()
        let retagged = false
        for (const chan of this.channels) if (canonicalTags(chan)) retagged = true
        if (retagged) {
          for (const stream of Object.keys(this.events)) {
            // consumer streams only ("ch0 <tag>"), not a channel's returns or confirms
            const consumerStream = stream.includes(' ') && !/ (returns|confirms)$/.test(stream)
            if (consumerStream) this.events[stream] = sortByTag(this.events[stream]!)
          }
        }
        step.events = Object.fromEntries(Object.entries(this.events).sort(([a], [b]) => (a < b ? -1 : 1)))
        trace.push(step)
      }
    } finally {
      this.events = {}
      await this.cleanUp()
    }
    return { trace, executed, kinds }
  }

  private emit(stream: string, event: Json): void {
    ;(this.events[stream] ??= []).push(event)
    this.eventCount++
  }

  /** After a method without a reply: once this returns, the broker has taken the method in. */
  private async roundTrip(chan: Chan): Promise<void> {
    if (!chan.open) return
    try {
      await chan.ch.checkExchange('amq.direct')
    } catch {
      // the channel was closed by what the operation did; the close is recorded as an event
    }
  }

  private async settle(): Promise<void> {
    const deadline = Date.now() + SETTLE_LIMIT_MS
    let seen = -1
    while (seen !== this.eventCount && Date.now() < deadline) {
      seen = this.eventCount
      await sleep(QUIET_MS)
    }
  }

  private async openConnection(): Promise<Connection> {
    const model = await amqp.connect(this.url)
    const conn: Connection = { id: this.connections.length, model, open: true }
    this.connections.push(conn)
    model.on('error', (err: unknown) => this.emit(`conn${conn.id}`, { closed: errorOf(err) }))
    model.on('close', () => {
      conn.open = false
      for (const chan of this.channels) if (chan.conn === conn) chan.open = false
    })
    return conn
  }

  private async openChannel(conn: Connection, confirm: boolean): Promise<Chan> {
    const ch = confirm ? await conn.model.createConfirmChannel() : await conn.model.createChannel()
    const chan: Chan = {
      id: this.channels.length,
      conn,
      ch,
      open: true,
      confirming: confirm,
      published: 0,
      unconfirmed: [],
      unsettled: [],
      maxTag: 0,
      consumers: [],
      consumersCreated: 0,
      stepDeliveries: [],
      shownTag: new Map(),
    }
    this.channels.push(chan)
    const stream = `ch${chan.id}`
    ch.on('error', (err: unknown) => this.emit(stream, { closed: errorOf(err) }))
    ch.on('close', () => (chan.open = false))
    ch.on('return', (message: Message) =>
      this.emit(`${stream} returns`, {
        code: (message.fields as unknown as { replyCode: number }).replyCode,
        text: (message.fields as unknown as { replyText: string }).replyText,
        exchange: message.fields.exchange,
        key: message.fields.routingKey,
        body: message.content.toString(),
      }),
    )
    // amqplib's own confirm bookkeeping only serves channels opened in confirm mode; these listeners see
    // every basic.ack and basic.nack, and spell `multiple` out, since how a broker batches is its own affair
    const confirmed = (ack: boolean) => (fields: { deliveryTag: number; multiple: boolean }) => {
      const settled = chan.unconfirmed.filter((n) =>
        fields.multiple ? n <= fields.deliveryTag : n === fields.deliveryTag,
      )
      chan.unconfirmed = chan.unconfirmed.filter((n) => !settled.includes(n))
      for (const n of settled) this.emit(`${stream} confirms`, { [ack ? 'ack' : 'nack']: n })
    }
    ch.on('ack', confirmed(true))
    ch.on('nack', confirmed(false))
    return chan
  }

  private openConnections(): Connection[] {
    return this.connections.filter((c) => c.open)
  }

  private channel(ref: number): Chan | undefined {
    const open = this.channels.filter((c) => c.open)
    return open.length === 0 ? undefined : open[ref % open.length]
  }

  private exchangeName(ref: ExchangeRef): string {
    if ('own' in ref) {
      if (this.exchanges.length === 0) return `${this.prefix}.x0`
      return this.exchanges[ref.own % this.exchanges.length]!
    }
    if ('default' in ref) return ''
    if ('missing' in ref) return `${this.prefix}.nox`
    return ref.reserved
  }

  /** Keys used with the shared amq.* exchanges carry the run's prefix, so runs side by side do not mix. */
  private keyFor(ref: ExchangeRef, key: string): string {
    return 'reserved' in ref ? `${this.prefix}.${key}` : key
  }

  private queueName(ref: QueueRef): string {
    if ('missing' in ref || this.queues.length === 0) return `${this.prefix}.noq`
    return this.queues[ref.known % this.queues.length]!
  }

  private knowQueue(name: string): void {
    if (!this.queues.includes(name)) this.queues.push(name)
  }

  private async step(op: Op): Promise<Step> {
    const step: Step = { op: op.k, result: 'skipped', events: {} }
    if (op.k === 'wait') {
      await sleep(WAIT_MS)
      step.result = 'ok'
      return step
    }
    if (op.k === 'connection.open') {
      if (this.openConnections().length >= MAX_CONNECTIONS) return step
      step.op = `connection.open conn${this.connections.length}`
      step.result = await this.attempt(async () => (await this.openConnection(), 'ok'))
      return step
    }
    if (op.k === 'connection.close' || op.k === 'channel.open') {
      const open = this.openConnections()
      const conn = open[op.conn % Math.max(1, open.length)]
      if (!conn) return step
      if (op.k === 'connection.close') {
        step.op = `connection.close conn${conn.id}`
        step.result = await this.attempt(async () => (await conn.model.close(), 'ok'))
      } else {
        if (this.channels.filter((c) => c.open && c.conn === conn).length >= MAX_CHANNELS) return step
        step.op = `channel.open conn${conn.id} ch${this.channels.length}${op.confirm ? ' confirm' : ''}`
        step.result = await this.attempt(async () => (await this.openChannel(conn, op.confirm), 'ok'))
      }
      return step
    }
    // a program whose channels were all closed carries on with a new one (on a new connection if need be)
    let chan = this.channel(op.ch)
    if (!chan) {
      const reopened = await this.attempt(async () => {
        chan = await this.openChannel(this.openConnections()[0] ?? (await this.openConnection()), false)
        return 'ok'
      })
      if (!chan) {
        step.result = { reopen: reopened }
        return step
      }
    }
    const result = await this.onChannel(chan, op, step)
    step.result = result
    if (op.k === 'basic.publish' || op.k === 'basic.ack' || op.k === 'basic.nack' || op.k === 'basic.reject') {
      await this.roundTrip(chan)
    }
    return step
  }

  /** Runs an operation; a broker's error becomes its code and text, as the result. */
  private async attempt(action: () => Promise<Json>): Promise<Json> {
    try {
      return await action()
    } catch (err) {
      return { error: errorOf(err) }
    }
  }

  private async onChannel(
    chan: Chan,
    op: Exclude<Op, { k: 'wait' | `connection.${string}` | 'channel.open' }>,
    step: Step,
  ): Promise<Json> {
    const ch = chan.ch
    const at = `ch${chan.id}`
    switch (op.k) {
      case 'channel.close':
        step.op = `channel.close ${at}`
        return this.attempt(async () => (await ch.close(), 'ok'))
      case 'exchange.declare': {
        const name = `${this.prefix}.x${op.x % EXCHANGE_POOL}`
        const before = this.declared.get(name)
        const d = op.again && before?.k === 'exchange.declare' ? { ...before, passive: op.passive } : op
        const options: Options.AssertExchange = {
          durable: d.durable,
          autoDelete: d.autoDelete,
          internal: d.internal,
        }
        if (d.alternate !== undefined) options.alternateExchange = `${this.prefix}.x${d.alternate % EXCHANGE_POOL}`
        step.op = `exchange.declare ${at} ${name} ${d.type}${d.passive ? ' passive' : ''} ${JSON.stringify(options)}`
        return this.attempt(async () => {
          if (d.passive) await ch.checkExchange(name)
          else await ch.assertExchange(name, d.type, options)
          if (!this.exchanges.includes(name)) this.exchanges.push(name)
          if (!d.passive) this.declared.set(name, d)
          return 'ok'
        })
      }
      case 'exchange.declare-reserved':
        step.op = `exchange.declare ${at} ${op.name} direct`
        return this.attempt(async () => (await ch.assertExchange(op.name, 'direct', { durable: true }), 'ok'))
      case 'exchange.delete': {
        const name = this.exchangeName(op.x)
        step.op = `exchange.delete ${at} ${name}${op.ifUnused ? ' if-unused' : ''}`
        return this.attempt(async () => {
          await ch.deleteExchange(name, { ifUnused: op.ifUnused })
          this.exchanges = this.exchanges.filter((x) => x !== name)
          return 'ok'
        })
      }
      case 'exchange.bind':
      case 'exchange.unbind': {
        const dest = this.exchangeName(op.dest)
        const src = this.exchangeName(op.src)
        const key = this.keyFor('reserved' in op.src ? op.src : op.dest, op.key)
        step.op = `${op.k} ${at} ${dest} <- ${src} '${key}'`
        return this.attempt(async () => {
          if (op.k === 'exchange.bind') await ch.bindExchange(dest, src, key)
          else await ch.unbindExchange(dest, src, key)
          return 'ok'
        })
      }
      case 'queue.declare':
        return this.declareQueue(chan, op, step)
      case 'queue.delete': {
        const name = this.queueName(op.q)
        step.op = `queue.delete ${at} ${name}${op.ifUnused ? ' if-unused' : ''}${op.ifEmpty ? ' if-empty' : ''}`
        return this.attempt(async () => {
          const ok = await ch.deleteQueue(name, { ifUnused: op.ifUnused, ifEmpty: op.ifEmpty })
          this.queues = this.queues.filter((q) => q !== name)
          return { messageCount: ok.messageCount }
        })
      }
      case 'queue.purge': {
        const name = this.queueName(op.q)
        step.op = `queue.purge ${at} ${name}`
        return this.attempt(async () => ({ messageCount: (await ch.purgeQueue(name)).messageCount }))
      }
      case 'queue.bind':
      case 'queue.unbind': {
        const queue = this.queueName(op.q)
        const exchange = this.exchangeName(op.x)
        const key = this.keyFor(op.x, op.key)
        step.op = `${op.k} ${at} ${queue} <- ${exchange} '${key}'${op.headers ? ' ' + JSON.stringify(op.headers) : ''}`
        return this.attempt(async () => {
          if (op.k === 'queue.bind') await ch.bindQueue(queue, exchange, key, op.headers)
          else await ch.unbindQueue(queue, exchange, key, op.headers)
          return 'ok'
        })
      }
      case 'basic.publish':
        return this.publish(chan, op, step)
      case 'basic.get': {
        const name = this.queueName(op.q)
        step.op = `basic.get ${at} ${name}${op.noAck ? ' no-ack' : ''}`
        return this.attempt(async () => {
          const message = await ch.get(name, { noAck: op.noAck })
          if (message === false) return 'empty'
          return this.received(chan, message, op.noAck)
        })
      }
      case 'basic.consume':
        return this.consume(chan, op, step)
      case 'basic.cancel': {
        const tag =
          chan.consumers.length === 0 ? `${this.prefix}.unknown` : chan.consumers[op.consumer % chan.consumers.length]!
        step.op = `basic.cancel ${at} ${tag}`
        return this.attempt(async () => {
          await ch.cancel(tag)
          chan.consumers = chan.consumers.filter((t) => t !== tag)
          return 'ok'
        })
      }
      case 'basic.ack':
      case 'basic.nack':
      case 'basic.reject':
        return this.settleDelivery(chan, op, step)
      case 'basic.qos':
        step.op = `basic.qos ${at} ${op.count}${op.global ? ' global' : ''}`
        return this.attempt(async () => (await ch.prefetch(op.count, op.global), 'ok'))
      case 'basic.recover':
        step.op = `basic.recover ${at}`
        return this.attempt(async () => {
          // the redeliveries may arrive before recover-ok (Warren) or after it (RabbitMQ): only the tags
          // given out before the recover are settled by it
          const before = chan.maxTag
          await ch.recover()
          chan.unsettled = chan.unsettled.filter((tag) => tag > before)
          return 'ok'
        })
      case 'tx.select':
      case 'tx.commit':
      case 'tx.rollback':
      case 'confirm.select':
        step.op = `${op.k} ${at}`
        return this.attempt(async () => {
          if (op.k === 'tx.select') await txSelect(ch)
          else if (op.k === 'tx.commit') await txCommit(ch)
          else if (op.k === 'tx.rollback') await txRollback(ch)
          else {
            await confirmSelect(ch)
            if (!chan.confirming) {
              chan.confirming = true
              chan.published = 0
            }
          }
          return 'ok'
        })
    }
  }

  private declareQueue(chan: Chan, op: Extract<Op, { k: 'queue.declare' }>, step: Step): Promise<Json> {
    const name = op.q < 0 ? '' : `${this.prefix}.q${op.q % QUEUE_POOL}`
    const before = this.declared.get(name)
    if (op.again && before?.k === 'queue.declare') op = { ...before, passive: op.passive }
    const args: Record<string, Json> = {}
    for (const [key, value] of Object.entries(op.args)) {
      if (key === 'x-dead-letter-exchange') {
        args[key] = this.exchangeName(value as ExchangeRef)
      } else if (value !== undefined) {
        args[key] = value as Json
      }
    }
    const flags = [
      op.durable && 'durable',
      op.exclusive && 'exclusive',
      op.autoDelete && 'auto-delete',
      op.passive && 'passive',
    ]
    step.op = `queue.declare ch${chan.id} '${name}' ${flags.filter(Boolean).join(' ')} ${JSON.stringify(args)}`
    return this.attempt(async () => {
      const ok = op.passive
        ? await chan.ch.checkQueue(name)
        : await chan.ch.assertQueue(name, {
            durable: op.durable,
            exclusive: op.exclusive,
            autoDelete: op.autoDelete,
            arguments: args,
          })
      this.knowQueue(ok.queue)
      if (!op.passive && name !== '') this.declared.set(name, op)
      return { queue: ok.queue, messageCount: ok.messageCount, consumerCount: ok.consumerCount }
    })
  }

  private async publish(chan: Chan, op: Extract<Op, { k: 'basic.publish' }>, step: Step): Promise<Json> {
    const exchange = this.exchangeName(op.x)
    const key = typeof op.key === 'string' ? this.keyFor(op.x, op.key) : this.queueName(op.key)
    const first = this.messages + 1
    step.op = `basic.publish ch${chan.id} '${exchange}' '${key}' m${first}${op.count > 1 ? `..m${first + op.count - 1}` : ''}${op.mandatory ? ' mandatory' : ''} ${JSON.stringify(op.props)}`
    const { persistent, ...props } = op.props
    return this.attempt(async () => {
      for (let i = 0; i < op.count; i++) {
        const id = `m${++this.messages}`
        const options: Options.Publish = { ...props, persistent, mandatory: op.mandatory, messageId: id }
        const body = Buffer.from(id + '.'.repeat(op.pad))
        if (chan.confirming) chan.unconfirmed.push(++chan.published)
        chan.ch.publish(exchange, key, body, options)
      }
      return 'ok'
    })
  }

  private received(chan: Chan, message: ConsumeMessage | GetMessage, noAck: boolean): Record<string, Json> {
    const fields = message.fields as ConsumeMessage['fields'] & { messageCount?: number }
    chan.maxTag = Math.max(chan.maxTag, fields.deliveryTag)
    if (!noAck) chan.unsettled.push(fields.deliveryTag)
    const seen: Record<string, Json> = {
      tag: fields.deliveryTag,
      redelivered: fields.redelivered,
      exchange: fields.exchange,
      key: fields.routingKey,
      body: message.content.toString(),
      props: propertiesOf(message),
    }
    if (fields.messageCount !== undefined) seen['messageCount'] = fields.messageCount
    return seen
  }

  private consume(chan: Chan, op: Extract<Op, { k: 'basic.consume' }>, step: Step): Promise<Json> {
    const queue = this.queueName(op.q)
    const options: Options.Consume = { noAck: op.noAck, exclusive: op.exclusive }
    if (op.clientTag) options.consumerTag = `${this.prefix}.ct${++this.consumerTags}`
    if (op.priority !== undefined) options.priority = op.priority
    step.op = `basic.consume ch${chan.id} ${queue} ${JSON.stringify(options)}`
    const consumer = chan.consumersCreated++
    return this.attempt(async () => {
      let tag = ''
      const ok = await chan.ch.consume(
        queue,
        (message) => {
          if (message === null) {
            chan.consumers = chan.consumers.filter((t) => t !== tag)
            this.emit(`ch${chan.id} ${tag}`, { cancelled: true })
            return
          }
          const event = this.received(chan, message, op.noAck)
          chan.stepDeliveries.push({ tag: message.fields.deliveryTag, consumer, event })
          this.emit(`ch${chan.id} ${message.fields.consumerTag}`, event)
        },
        options,
      )
      tag = ok.consumerTag
      if (op.noAck) this.noAckConsumers.add(tag)
      chan.consumers.push(tag)
      return { consumerTag: tag }
    })
  }

  private async settleDelivery(
    chan: Chan,
    op: Extract<Op, { k: 'basic.ack' | 'basic.nack' | 'basic.reject' }>,
    step: Step,
  ): Promise<Json> {
    let tag: number
    if (op.d < 0) tag = chan.maxTag + 100
    else if (chan.unsettled.length === 0) return 'skipped'
    else tag = chan.unsettled[op.d % chan.unsettled.length]!
    const multiple = op.k !== 'basic.reject' && op.multiple
    const shown = chan.shownTag.get(tag) ?? tag
    step.op = `${op.k} ch${chan.id} ${op.d < 0 ? 'unknown ' : ''}${shown}${multiple ? ' multiple' : ''}${op.k !== 'basic.ack' && op.requeue ? ' requeue' : ''}`
    const message = { fields: { deliveryTag: tag } } as Message
    return this.attempt(async () => {
      if (op.k === 'basic.ack') chan.ch.ack(message, multiple)
      else if (op.k === 'basic.nack') chan.ch.nack(message, multiple, op.requeue)
      else chan.ch.reject(message, op.requeue)
      chan.unsettled = chan.unsettled.filter((t) => (multiple ? t > tag : t !== tag))
      return 'ok'
    })
  }

  /** Closes the program's connections and deletes what it declared, on a connection of its own. */
  private async cleanUp(): Promise<void> {
    for (const conn of this.connections) {
      if (conn.open) await conn.model.close().catch(() => {})
    }
    let model: ChannelModel | undefined
    try {
      model = await amqp.connect(this.url)
      model.on('error', () => {})
      let ch = await model.createChannel()
      ch.on('error', () => {})
      const queues = new Set([...this.queues, ...Array.from({ length: QUEUE_POOL }, (_, i) => `${this.prefix}.q${i}`)])
      const work: (() => Promise<unknown>)[] = [
        ...[...queues].map((q) => () => ch.deleteQueue(q)),
        ...Array.from({ length: EXCHANGE_POOL }, (_, i) => () => ch.deleteExchange(`${this.prefix}.x${i}`)),
      ]
      for (const item of work) {
        try {
          await item()
        } catch {
          // a queue held exclusively by a connection that is closing: a fresh channel and move on
          ch = await model.createChannel()
          ch.on('error', () => {})
        }
      }
    } finally {
      await model?.close().catch(() => {})
    }
  }
}
