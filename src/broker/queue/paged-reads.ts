// Reading paged-out messages back from a durable queue's store. A read that fails for a reason that passes
// (descriptors or memory run out, a disk or its driver falters) leaves the message at the head of its queue,
// and is retried, at first after READ_RETRY_MIN_MS, doubling up to READ_RETRY_MAX_MS; until then the queue
// tries no read. Any other failure (a damaged record, a file cut short) is permanent.
import type { QueueStore, StoredMessage } from '../../store/message-store.js'
import { Message } from '../message.js'

const TRANSIENT_READ_ERRORS = new Set(['EMFILE', 'ENFILE', 'EIO', 'EAGAIN', 'ENOMEM', 'EINTR', 'EBUSY', 'ETIMEDOUT'])
const READ_RETRY_MIN_MS = 50
const READ_RETRY_MAX_MS = 5_000

/** What the queue hears of its reads. */
export interface PagedReadEvents {
  /** The retry is due: what the unreadable head held up may go on */
  retry(): void
  /** A read failed for now; the next try is in retryMs (said at the first failure, then every 100th) */
  failing(err: unknown, retryMs: number, failures: number): void
  /** A read worked after `failures` failed ones */
  resumed(failures: number): void
}

export class PagedReads {
  /** Pending while the paged-out head cannot be read (a transient fault): reads wait for it */
  private retryTimer: NodeJS.Timeout | undefined
  /** Failed reads since the last one that worked; the retry delay doubles with them */
  private failures = 0
  private lastError: unknown
  private readonly onRetryDue = (): void => {
    this.retryTimer = undefined
    this.events.retry()
  }

  constructor(private readonly events: PagedReadEvents) {}

  /** The paged-out head cannot be read now: it waits (deliveries, expiry and drops behind it too). */
  get blocked(): boolean {
    return this.retryTimer !== undefined
  }

  /** The code of the last failure ('EMFILE'...), for the error a client is told. */
  get lastErrorCode(): string {
    return errorCode(this.lastError)
  }

  /**
   * Reads the message at a store position. Returns undefined after a transient failure (a retry is
   * scheduled), or at once while one is pending, unless `now` (basic.get tries anyway); throws a permanent
   * failure.
   */
  read(store: QueueStore, position: number, now: boolean): Message | undefined {
    if (this.retryTimer !== undefined && !now) return undefined
    let message: Message
    try {
      message = messageFromStore(store.readSync(position))
    } catch (err) {
      if (!isTransientReadError(err)) throw err
      this.retryLater(err)
      return undefined
    }
    if (this.failures > 0) this.works()
    return message
  }

  /** Nothing is left to wait for (the queue was purged or deleted): the next read is tried at once. */
  cancelRetry(): void {
    clearTimeout(this.retryTimer)
    this.retryTimer = undefined
  }

  private retryLater(err: unknown): void {
    this.failures++
    this.lastError = err
    if (this.retryTimer !== undefined) return
    const delay = Math.min(READ_RETRY_MIN_MS * 2 ** Math.min(this.failures - 1, 16), READ_RETRY_MAX_MS)
    // Said at the first failure, then now and then while it lasts (every 100 failures: about 8 minutes)
    if (this.failures === 1 || this.failures % 100 === 0) this.events.failing(err, delay, this.failures)
    this.retryTimer = setTimeout(this.onRetryDue, delay)
    this.retryTimer.unref()
  }

  private works(): void {
    const failures = this.failures
    this.failures = 0
    this.lastError = undefined
    this.cancelRetry()
    this.events.resumed(failures)
  }
}

/**
 * Whether a failed read may work later (descriptors, memory, a faltering disk); any other failure (a missing
 * or damaged file) is for good. Also used for the pages of transient messages (packed-run.ts).
 */
export function isTransientReadError(err: unknown): boolean {
  return TRANSIENT_READ_ERRORS.has(errorCode(err))
}

export function errorCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return typeof code === 'string' ? code : 'unknown error'
}

export function messageFromStore(m: StoredMessage): Message {
  return new Message(m.exchange, m.routingKey, undefined, m.propertiesRaw, m.body)
}
