import type { MessagePort } from 'node:worker_threads'
import type { ConsumeMessage } from 'amqplib'
import { nowMillis } from './clock.js'
import { currentOsThreadId } from './proc-stat.js'
import { Counter } from './worker-counters.js'
import { connectWorker, failWorker, watchConnection } from './worker-connection.js'
import type { ControlMessage, RpcServerConfig, WorkerEvent } from './worker-protocol.js'

/**
 * An RPC server as the tutorials write one: consumes requests and, for each,
 * publishes a reply through the default exchange to the request's reply_to
 * with its correlation_id, then acks the request. The reply body is the
 * request body, so the client can tell a reply is really its request's. A
 * reply_to of a direct reply-to address needs nothing special: it is
 * published like any other.
 */
export async function runRpcServer(config: RpcServerConfig, port: MessagePort): Promise<void> {
  const counters = new Float64Array(config.counters)
  const emit = (event: WorkerEvent): void => port.postMessage(event)

  const model = await connectWorker(config.url, `rpc server ${config.index}`)
  model.on('blocked', (reason: string) => emit({ type: 'blocked', reason }))
  const channel = await model.createChannel()
  const connection = watchConnection(model, channel)
  if (!config.noAck && config.prefetch > 0) await channel.prefetch(config.prefetch)

  let requests = 0
  let replies = 0
  let withoutReplyTo = 0

  const onRequest = (message: ConsumeMessage | null): void => {
    if (message === null) {
      failWorker(new Error('rpc server cancelled by the broker'))
      return
    }
    requests++
    counters[Counter.received] = requests
    const { replyTo, correlationId } = message.properties as { replyTo?: unknown; correlationId?: unknown }
    if (typeof replyTo === 'string' && replyTo !== '') {
      // The delivery's buffer is this message's alone, so it can go straight back out
      channel.publish('', replyTo, message.content, {
        correlationId: typeof correlationId === 'string' ? correlationId : undefined,
      })
      replies++
      counters[Counter.sent] = replies
    } else {
      // Nowhere to answer: a real server would log it; count it and drop it
      counters[Counter.unexpected] = ++withoutReplyTo
    }
    if (!config.noAck) channel.ack(message)
    counters[Counter.lastActivityMillis] = nowMillis()
  }

  const onControl = (message: ControlMessage): void => {
    if (message.type === 'start') return
    // A listening port keeps the thread alive; let it end once disconnected
    port.off('message', onControl)
    // Unacked requests go back to the queue, which the run deletes
    connection.close().catch(failWorker)
  }
  port.on('message', onControl)

  await channel.consume(config.queue, onRequest, { noAck: config.noAck })
  emit({ type: 'ready', osThreadId: currentOsThreadId() })
}
