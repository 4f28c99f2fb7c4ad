import type { MessagePort } from 'node:worker_threads'
import type { ConsumeMessage } from 'amqplib'
import { TIMESTAMP_BYTES, nowMicros } from './clock.js'
import { recordLatency } from './latency-histogram.js'
import { currentOsThreadId } from './proc-stat.js'
import { Counter } from './worker-counters.js'
import type { ConsumerConfig, ControlMessage, WorkerEvent } from './worker-protocol.js'
import { connectWorker, failWorker, watchConnection } from './worker-connection.js'

/**
 * Consumes on its own connection until told to stop, recording each
 * delivery's end-to-end latency into the shared histogram.
 */
export async function runConsumer(config: ConsumerConfig, port: MessagePort): Promise<void> {
  const counters = new Float64Array(config.counters)
  const histogram = new Float64Array(config.histogram)
  const emit = (event: WorkerEvent): void => port.postMessage(event)

  const model = await connectWorker(config.url, `consumer ${config.index}`)
  const channel = await model.createChannel()
  const connection = watchConnection(model, channel)
  if (!config.noAck && config.prefetch > 0) await channel.prefetch(config.prefetch)

  let received = 0
  let unacked = 0
  let lastUnacked: ConsumeMessage | null = null
  const multiple = config.multiAck > 1

  const onDelivery = (message: ConsumeMessage | null): void => {
    if (message === null) {
      failWorker(new Error('consumer cancelled by the broker'))
      return
    }
    const now = nowMicros()
    received++
    counters[Counter.received] = received
    counters[Counter.lastActivityMillis] = now / 1000
    // Bodies shorter than a timestamp carry none (e.g. another tool's messages)
    if (config.measureLatency && message.content.length >= TIMESTAMP_BYTES) {
      const latency = now - message.content.readDoubleLE(0)
      recordLatency(histogram, latency)
      if (latency > counters[Counter.maxLatencyMicros]!) counters[Counter.maxLatencyMicros] = latency
    }
    if (config.noAck) return
    if (++unacked >= config.multiAck) {
      channel.ack(message, multiple)
      unacked = 0
      lastUnacked = null
    } else {
      lastUnacked = message
    }
  }

  const onControl = (message: ControlMessage): void => {
    if (message.type !== 'stop') return
    // A listening port keeps the thread alive; let it end once disconnected
    port.off('message', onControl)
    // Settle the last partial multi-ack batch so the broker does not requeue it
    if (lastUnacked !== null) channel.ack(lastUnacked, true)
    connection.close().catch(failWorker)
  }
  port.on('message', onControl)

  await channel.consume(config.queue, onDelivery, { noAck: config.noAck })
  emit({ type: 'ready', osThreadId: currentOsThreadId() })
}
