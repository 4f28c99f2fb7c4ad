// Output flow control of one connection. Output waiting for the socket is bounded by --max-output-buffer:
// above it the connection is "backed up": consumers get no more deliveries, the client is not read (frames
// already read are held, in order, and handled once the socket drains), and a publisher replying to it
// through direct reply-to waits for the drain. So a client that asks (basic.get, mandatory publishes,
// replies) but does not read makes its own requests wait in its socket, not the broker's memory.
import type { Duplex } from 'node:stream'
import type { Writer } from '../protocol/writer.js'

/** Someone throttled until a queue or a connection drains. */
export interface FlowWaiter {
  flowResume(): void
}

/** Something that can be waited on to drain: a backlogged queue, a backed-up connection. */
export interface DrainSource {
  waitUntilDrained(waiter: FlowWaiter): void
}

/** A frame read while the output is backed up, handled once it drains. */
export interface HeldFrame {
  readonly type: number
  readonly channel: number
  readonly payload: Buffer
}

export class OutputFlow implements DrainSource {
  /** Bytes of output buffered above which this connection gets no more content and is not read */
  readonly limit: number
  /** Input frames not handled while the output is backed up, in order (at most one socket read's worth) */
  held: HeldFrame[] | undefined
  /** Publishers throttled until this connection's output drains (direct reply-to) */
  private drainWaiters: Set<FlowWaiter> | undefined

  constructor(
    private readonly socket: Duplex,
    private readonly out: Writer,
    maxOutputBuffer: number,
  ) {
    // Never below the socket's own high-water mark, so that being over the limit always ends in a 'drain'
    this.limit = Math.max(maxOutputBuffer, socket.writableHighWaterMark)
  }

  /** Bytes written for this client and not yet taken by the kernel. */
  get buffered(): number {
    return this.socket.writableLength + this.out.pending
  }

  /** Too much output is waiting: no more content goes out, and the client is not read, until it drains. */
  get backedUp(): boolean {
    return this.buffered > this.limit
  }

  /** From now on, frames read are held until the output drains (the reader stops reading too). */
  hold(): void {
    this.held = []
  }

  /** The frames held so far, in order; nothing is held after this. */
  takeHeld(): HeldFrame[] | undefined {
    const held = this.held
    this.held = undefined
    return held
  }

  waitUntilDrained(waiter: FlowWaiter): void {
    ;(this.drainWaiters ??= new Set()).add(waiter)
  }

  /** The output drained (or the connection is gone): every waiting publisher goes on. */
  releaseWaiters(): void {
    const waiters = this.drainWaiters
    this.drainWaiters = undefined
    if (waiters) for (const w of waiters) w.flowResume()
  }
}
