import { once } from 'node:events'
import type { MessagePort } from 'node:worker_threads'
import type { Channel, ConfirmChannel, Options } from 'amqplib'
import { TIMESTAMP_BYTES, nowMicros, nowMillis, sleep } from './clock.js'
import { currentOsThreadId } from './proc-stat.js'
import { Counter } from './worker-counters.js'
import type { ControlMessage, PublisherConfig, WorkerEvent } from './worker-protocol.js'
import { connectWorker, watchConnection } from './worker-connection.js'
import { usePreEncodedPublish } from './preencoded-publish.js'

/**
 * Publishes in a tight loop on its own connection. Backpressure comes from
 * three places, all awaited rather than buffered: amqplib's channel write
 * buffer ('drain'), the confirm window, and the optional rate limit.
 */
export async function runPublisher(config: PublisherConfig, port: MessagePort): Promise<void> {
  const counters = new Float64Array(config.counters)
  const emit = (event: WorkerEvent): void => port.postMessage(event)

  const model = await connectWorker(config.url, `publisher ${config.index}`)
  model.on('blocked', (reason: string) => emit({ type: 'blocked', reason }))
  const confirming = config.confirmWindow > 0
  const channel: Channel | ConfirmChannel = confirming
    ? await model.createConfirmChannel()
    : await model.createChannel()
  const connection = watchConnection(model, channel)
  usePreEncodedPublish(channel, config)

  let stopRequested = false
  let onControl: (message: ControlMessage) => void = () => {}
  const started = new Promise<void>((resolve) => {
    onControl = (message) => {
      if (message.type === 'stop') stopRequested = true
      resolve()
    }
  })
  port.on('message', onControl)
  emit({ type: 'ready', osThreadId: currentOsThreadId() })
  await started

  // One callback for every message rather than a closure per message
  let sent = 0
  let settled = 0
  let wakeWhenSlotFree: (() => void) | null = null
  const onConfirm = (error: unknown): void => {
    settled++
    counters[error === null || error === undefined ? Counter.confirmed : Counter.nacked]! += 1
    if (wakeWhenSlotFree !== null && sent - settled < config.confirmWindow) {
      const wake = wakeWhenSlotFree
      wakeWhenSlotFree = null
      wake()
    }
  }
  const slotFree = (): Promise<void> => new Promise((resolve) => (wakeWhenSlotFree = resolve))
  const allSettled = async (): Promise<void> => {
    while (sent > settled) await new Promise<void>((resolve) => (wakeWhenSlotFree = resolve))
  }

  const body = Buffer.alloc(config.bodySize)
  const stampBody = config.bodySize >= TIMESTAMP_BYTES
  const publishOptions: Options.Publish = config.persistent ? { deliveryMode: 2 } : {}
  const limit = config.messageLimit ?? Infinity
  const startedAt = nowMillis()

  while (!stopRequested && sent < limit) {
    if (confirming && sent - settled >= config.confirmWindow) {
      await slotFree()
      continue // re-check stop
    }
    if (config.ratePerSecond > 0) {
      const wait = startedAt + (sent * 1000) / config.ratePerSecond - nowMillis()
      if (wait > 0) {
        await sleep(wait)
        continue
      }
    }
    // Each publish copies the body into its frame, so one buffer serves every message
    if (stampBody) body.writeDoubleLE(nowMicros(), 0)
    const accepted = confirming
      ? (channel as ConfirmChannel).publish(config.exchange, config.routingKey, body, publishOptions, onConfirm)
      : channel.publish(config.exchange, config.routingKey, body, publishOptions)
    sent++
    counters[Counter.sent] = sent
    if (!accepted) await once(channel, 'drain')
  }
  if (confirming) await allSettled()
  counters[Counter.lastActivityMillis] = nowMillis()
  // A listening port keeps the thread alive; let it end once disconnected
  port.off('message', onControl)

  await connection.close()
  emit({ type: 'finished' })
}
