// Connects publishers to the message store's group commits: a confirm (or tx.commit-ok) for a message
// written to the store waits until the batch it was written in is synced.
import type { MessageStore } from '../store/message-store.js'

export interface DurableWaiter {
  /** Batches up to this one are settled, this one synced; returns true while the waiter waits for a later one. */
  onDurable(durableBatch: number): boolean
  /**
   * The writes made in this batch could not be made durable (batches before it are settled); returns true
   * while the waiter waits for a later one.
   */
  onBatchFailed(failedBatch: number): boolean
}

export class Durability {
  private readonly waiters = new Set<DurableWaiter>()

  constructor(readonly store: MessageStore) {
    store.onDurable((batch) => {
      for (const w of this.waiters) if (!w.onDurable(batch)) this.waiters.delete(w)
    })
    store.onBatchFailed((batch) => {
      for (const w of this.waiters) if (!w.onBatchFailed(batch)) this.waiters.delete(w)
    })
  }

  /** The batch that writes made now will be synced in. */
  get currentBatch(): number {
    return this.store.currentBatch
  }

  get durableBatch(): number {
    return this.store.durableBatch
  }

  wait(waiter: DurableWaiter): void {
    this.waiters.add(waiter)
  }

  /** Runs done once the given batch is synced (or at once if it already is); failed if it cannot be. */
  afterBatch(batch: number, done: () => void, failed: () => void): void {
    if (batch <= this.store.durableBatch) return done()
    this.wait({
      onDurable: (b) => {
        if (b < batch) return true
        done()
        return false
      },
      onBatchFailed: (b) => {
        if (b < batch) return true
        // Batches settle in order, so b is this batch (were it a later one, failed is the answer that cannot lie)
        failed()
        return false
      },
    })
  }
}
