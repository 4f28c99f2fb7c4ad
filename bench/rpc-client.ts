import type { MessagePort } from 'node:worker_threads'
import type { ConsumeMessage } from 'amqplib'
import { TIMESTAMP_BYTES, nowMicros } from './clock.js'
import { recordLatency } from './latency-histogram.js'
import { currentOsThreadId } from './proc-stat.js'
import { Counter } from './worker-counters.js'
import { connectWorker, failWorker, watchConnection } from './worker-connection.js'
import type { ControlMessage, RpcClientConfig, WorkerEvent } from './worker-protocol.js'

/** RabbitMQ's pseudo-queue for direct reply-to: consume from it, and name it as reply_to. */
export const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to'

/**
 * An RPC client with a window: keeps `inflight` requests outstanding, each
 * with a unique correlation_id, and sends the next one as each reply comes
 * in. Records every round trip in the shared histogram and counts replies
 * that answer no outstanding request or carry another request's body.
 */
export async function runRpcClient(config: RpcClientConfig, port: MessagePort): Promise<void> {
  const counters = new Float64Array(config.counters)
  const histogram = new Float64Array(config.histogram)
  const emit = (event: WorkerEvent): void => port.postMessage(event)

  const model = await connectWorker(config.url, `rpc client ${config.index}`)
  model.on('blocked', (reason: string) => emit({ type: 'blocked', reason }))
  const channel = await model.createChannel()
  const connection = watchConnection(model, channel)

  // Direct reply-to: the broker rewrites reply_to into this channel's own address
  const replyQueue =
    config.replyStyle === 'reply-queue' ? (await channel.assertQueue('', { exclusive: true })).queue : null
  const replyTo = replyQueue ?? DIRECT_REPLY_TO

  /** send time in µs of each outstanding request, by correlation_id */
  const pending = new Map<string, number>()
  const limit = config.requestLimit ?? Infinity
  const idPrefix = `${config.index}-`
  const stampBody = config.bodySize >= TIMESTAMP_BYTES
  let sent = 0
  let answered = 0
  let unexpected = 0
  let mismatched = 0
  let started = false
  let stopping = false
  let finished = false
  let closing = false
  let consumerTag: string | null = null

  const request = (): void => {
    const correlationId = idPrefix + sent
    // A fresh body each time: amqplib holds on to large bodies until they are written
    const body = Buffer.alloc(config.bodySize)
    const sentAt = nowMicros()
    // The server echoes the body, so the send time in it tells whose reply it is
    if (stampBody) body.writeDoubleLE(sentAt, 0)
    pending.set(correlationId, sentAt)
    // At most `inflight` requests are ever buffered, so publish()'s backpressure signal can be ignored
    channel.publish(config.exchange, config.routingKey, body, {
      replyTo,
      correlationId,
      persistent: config.persistent,
    })
    counters[Counter.sent] = ++sent
  }

  const close = async (): Promise<void> => {
    if (closing) return
    closing = true
    // A listening port keeps the thread alive; let it end once disconnected
    port.off('message', onControl)
    // Cancel first: deleting the queue under the consumer would look like a broker cancel
    if (consumerTag !== null) await channel.cancel(consumerTag)
    if (replyQueue !== null) await channel.deleteQueue(replyQueue)
    await connection.close()
  }

  const finishIfDone = (): void => {
    if (finished || pending.size > 0) return
    finished = true
    emit({ type: 'finished' })
    close().catch(failWorker)
  }

  const onReply = (message: ConsumeMessage | null): void => {
    if (message === null) {
      if (!closing) failWorker(new Error('reply consumer cancelled by the broker'))
      return
    }
    const now = nowMicros()
    const correlationId: unknown = message.properties.correlationId
    const sentAt = typeof correlationId === 'string' ? pending.get(correlationId) : undefined
    if (sentAt === undefined) {
      // Not ours, or an answer to a request already answered
      counters[Counter.unexpected] = ++unexpected
      return
    }
    pending.delete(correlationId as string)
    const roundTrip = now - sentAt
    recordLatency(histogram, roundTrip)
    if (roundTrip > counters[Counter.maxLatencyMicros]!) counters[Counter.maxLatencyMicros] = roundTrip
    const body = message.content
    if (body.length !== config.bodySize || (stampBody && body.readDoubleLE(0) !== sentAt)) {
      counters[Counter.mismatched] = ++mismatched
    }
    counters[Counter.lastActivityMillis] = now / 1000
    counters[Counter.received] = ++answered
    if (!stopping && sent < limit) request()
    else finishIfDone()
  }

  const onControl = (message: ControlMessage): void => {
    if (message.type === 'start' && !started && !stopping) {
      started = true
      const window = Math.min(config.inflight, limit)
      for (let i = 0; i < window; i++) request()
    } else if (message.type === 'stop') {
      stopping = true
      finishIfDone()
    } else if (message.type === 'close') {
      close().catch(failWorker)
    }
  }
  port.on('message', onControl)

  // Direct reply-to needs the consumer in place, with no-ack, before the first request
  consumerTag = (await channel.consume(replyQueue ?? DIRECT_REPLY_TO, onReply, { noAck: true })).consumerTag
  emit({ type: 'ready', osThreadId: currentOsThreadId() })
}
