// Connects publishers to the message store's group commits: a confirm (or tx.commit-ok) for a message
// written to the store waits until the batch it was written in is synced.
import type { MessageStore } from '../store/message-store.js'

export interface DurableWaiter {
  /** A batch was synced; returns true while the waiter still waits for a later one. */
  onDurable(durableBatch: number): boolean
  /** The store failed (a write or sync error): nothing more will become durable. */
  onStoreFailed(): void
}

export class Durability {
  private readonly waiters = new Set<DurableWaiter>()

  constructor(readonly store: MessageStore) {
    store.onDurable((batch) => {
      for (const w of this.waiters) if (!w.onDurable(batch)) this.waiters.delete(w)
    })
    store.onError(() => {
      for (const w of this.waiters) w.onStoreFailed()
      this.waiters.clear()
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

  /** Runs done once the given batch is synced (or at once if it already is); failed if the store fails. */
  afterBatch(batch: number, done: () => void, failed: () => void): void {
    if (batch <= this.store.durableBatch) return done()
    this.wait({
      onDurable: (b) => {
        if (b < batch) return true
        done()
        return false
      },
      onStoreFailed: failed,
    })
  }
}
