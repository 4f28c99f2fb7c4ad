import type { LoadedEntry } from '../message.js'
import type { Queue } from './queue.js'

/** What a queue needs from a consumer; the server's channel implements it. */
export interface Consumer {
  readonly tag: string
  readonly noAck: boolean
  readonly exclusive: boolean
  /** x-priority: consumers of higher priority get messages first while they have credit */
  readonly priority: number
  /** True when the consumer can take one more message now: prefetch credit, flow, socket not backed up. */
  canTake(): boolean
  /** Hands a message over; the queue has already removed it from its ready list. */
  deliver(entry: LoadedEntry, queue: Queue): void
  /** The queue is going away: tell the client (basic.cancel) where it supports that. */
  cancelledByQueue(queue: Queue): void
}
