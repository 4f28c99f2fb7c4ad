import type { LoadedEntry } from '../message.js'

/**
 * What a queue needs from a consumer; the server's channel implements it. `Q` is the queue that calls it
 * (queue.ts uses `Consumer<Queue>`): a parameter, so that this file does not depend on the queue's.
 */
export interface Consumer<Q = unknown> {
  readonly tag: string
  readonly noAck: boolean
  readonly exclusive: boolean
  /** x-priority: consumers of higher priority get messages first while they have credit */
  readonly priority: number
  /** True when the consumer can take one more message now: prefetch credit, flow, socket not backed up. */
  canTake(): boolean
  /** Hands a message over; the queue has already removed it from its ready list. */
  deliver(entry: LoadedEntry, queue: Q): void
  /** The queue is going away: tell the client (basic.cancel) where it supports that. */
  cancelledByQueue(queue: Q): void
}
