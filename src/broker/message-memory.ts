// How many bytes of message bodies the ready messages of all queues hold in memory. Beyond the budget,
// persistent messages of durable queues are paged out: the queue keeps their position in the store and
// reads them back when they leave it (RabbitMQ pages out at half its memory watermark, 20% of RAM).
import { totalmem } from 'node:os'

export const DEFAULT_MESSAGE_MEMORY_BUDGET = Math.floor(totalmem() * 0.2)

export class MessageMemory {
  used = 0

  constructor(readonly budget: number = DEFAULT_MESSAGE_MEMORY_BUDGET) {}

  /** True when a message of this size should not be kept in memory. */
  full(size: number): boolean {
    return this.used + size > this.budget
  }
}
