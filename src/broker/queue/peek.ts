// Looking at a queue's ready messages without taking them: the management UI's message viewer. Unlike
// basic.get with requeue (RabbitMQ's "Get messages"), nothing about the queue changes: no message moves,
// none is marked redelivered, no counter or x-expires timer is touched. Paged-out messages are read from
// the store for the answer alone and stay paged out.
import { resourceError } from '../../protocol/errors.js'
import type { Message } from '../message.js'
import { errorCode, messageFromStore } from './paged-reads.js'
import type { Queue } from './queue.js'

export interface PeekedMessage {
  /** Place among the ready messages, 0 for the one a consumer gets next */
  position: number
  redelivered: boolean
  message: Message
}

/**
 * Up to `count` ready messages from place `offset` on, in the order consumers would get them (a priority
 * queue's highest level first). Messages whose TTL ran out are left out, as no consumer will get them.
 */
export function peekReady(queue: Queue, offset: number, count: number, now = Date.now()): PeekedMessage[] {
  const out: PeekedMessage[] = []
  if (count <= 0) return out
  let position = 0
  for (const entry of queue.readyEntries()) {
    if (entry.expiresAt !== 0 && entry.expiresAt <= now) continue
    if (position >= offset) {
      let message = entry.message
      if (message === null) {
        try {
          message = messageFromStore(queue.store!.readSync(entry.position))
        } catch (err) {
          throw resourceError(
            `cannot read message ${position} of queue '${queue.name}' in vhost '${queue.vhost}' from disk now` +
              ` (${errorCode(err)})`,
          )
        }
      }
      out.push({ position, redelivered: entry.redelivered, message })
      if (out.length === count) break
    }
    position++
  }
  return out
}
