// How many bytes of message bodies the ready messages of all queues hold in memory. Beyond the budget,
// persistent messages of durable queues are paged out: the queue keeps their position in the store and
// reads them back when they leave it; and with a data directory, long queues write the chunks of packed
// messages they do not need soon to the page area of transient messages (queue/packed-pages.ts). The
// default budget is set in config/config.ts.
import type { TransientPages } from '../store/transient-pages.js'

export class MessageMemory {
  used = 0

  constructor(
    readonly budget: number,
    /** The page area of transient messages; null without a data directory (nothing is paged then) */
    readonly pages: TransientPages | null = null,
  ) {}

  /** True when a message of this size should not be kept in memory. */
  full(size: number): boolean {
    return this.used + size > this.budget
  }
}
