// Whether a connection's socket is read. Three things stop reading it, each until its own condition ends:
// a resource alarm (a connection that publishes while an alarm is set is blocked until every alarm has
// cleared), flow control (a publisher to a backlogged queue, or replying to a backed-up connection, waits
// for it to drain, at most THROTTLE_MAX_MS), and its own backed-up output (see output-flow.ts). Reading
// resumes only when none of them holds.
import type { Duplex } from 'node:stream'
import type { DrainSource, FlowWaiter, OutputFlow } from './output-flow.js'

/** The longest a publisher is left unread by flow control before it is read again (and checked again). */
const THROTTLE_MAX_MS = 250

export class ReadGate implements FlowWaiter {
  /** Not reading because of a resource alarm */
  blocked = false
  /** Not reading for a moment because a queue it publishes to (or a connection it replies to) is backed up */
  throttled = false
  private throttleTimer: NodeJS.Timeout | undefined
  /** The connection is closing: it is read whatever else holds (a close-ok must reach us) */
  private closing = false

  constructor(
    private readonly socket: Duplex,
    private readonly output: OutputFlow,
  ) {}

  /** Some reason not to read holds: the client's silence then proves nothing (heartbeats). */
  get paused(): boolean {
    return this.blocked || this.throttled || this.output.held !== undefined
  }

  /** Stops reading until unblock(). */
  block(): void {
    this.blocked = true
    this.socket.pause()
  }

  unblock(): void {
    this.blocked = false
    this.resume()
  }

  /** Stops reading until `source` drains, or for at most THROTTLE_MAX_MS. */
  throttleUntilDrained(source: DrainSource): void {
    if (this.throttled) return
    this.throttled = true
    this.socket.pause()
    source.waitUntilDrained(this)
    this.throttleTimer = setTimeout(() => this.flowResume(), THROTTLE_MAX_MS)
  }

  flowResume(): void {
    if (!this.throttled) return
    this.throttled = false
    clearTimeout(this.throttleTimer)
    this.resume()
  }

  /** Stops reading until the output drains (frames already read are held by OutputFlow). */
  holdInput(): void {
    this.output.hold()
    this.socket.pause()
  }

  /** From now on the socket is read to its end, whatever else holds. */
  readToEnd(): void {
    this.closing = true
    this.socket.resume()
  }

  /** Reads the socket again unless an alarm, flow control or held input keeps it paused. */
  resume(): void {
    if (this.closing || !this.paused) this.socket.resume()
  }

  stop(): void {
    clearTimeout(this.throttleTimer)
  }
}
