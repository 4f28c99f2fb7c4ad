// How many bytes of message bodies the ready messages of all queues hold in memory. Beyond the budget,
// persistent messages of durable queues are paged out: the queue keeps their position in the store and
// reads them back when they leave it. The default budget is set in config/config.ts.
export class MessageMemory {
  used = 0

  constructor(readonly budget: number) {}

  /** True when a message of this size should not be kept in memory. */
  full(size: number): boolean {
    return this.used + size > this.budget
  }
}
