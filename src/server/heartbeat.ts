// Heartbeats as RabbitMQ runs them: from connection.tune-ok on, a tick at half the negotiated interval
// sends a heartbeat frame if nothing else went out since the last tick, and after two silent intervals
// (four ticks without a byte from the client) the socket is closed. The handshake starts the heartbeat at
// tune-ok and hands it to the connection at connection.open, so there is no gap in between.
import { FRAME_END, FRAME_HEARTBEAT } from '../protocol/writer.js'

/** A heartbeat frame: type 8, channel 0, no payload. */
export const HEARTBEAT_FRAME = Buffer.from([FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, FRAME_END])

/** Whoever owns the socket now: the handshake, then the connection. */
export interface HeartbeatHost {
  /** Nothing was written for half an interval: a heartbeat frame goes out. */
  sendHeartbeat(): void
  /** We are not reading the client (an alarm, flow control, held input): its silence proves nothing. */
  readonly readingPaused: boolean
  /** Two intervals without a byte from the client. */
  heartbeatMissed(): void
}

export class Heartbeat {
  // Both start true: the heartbeat starts right after connection.tune went out and tune-ok came in

  /** Set by the socket's owner on every read; cleared by each tick. A field, so a read costs no call. */
  readSinceTick = true
  /** Set by the socket's owner on every write; cleared by each tick. */
  wroteSinceTick = true
  private silentTicks = 0
  private readonly timer: NodeJS.Timeout | undefined

  constructor(
    /** The negotiated interval in seconds; 0 turns heartbeats off */
    readonly seconds: number,
    private host: HeartbeatHost,
  ) {
    if (seconds === 0) return
    this.timer = setInterval(() => this.tick(), (seconds * 1000) / 2)
    this.timer.unref()
  }

  /** The connection takes over the socket from the handshake. */
  handOver(host: HeartbeatHost): void {
    this.host = host
  }

  stop(): void {
    clearInterval(this.timer)
  }

  private tick(): void {
    if (!this.wroteSinceTick) this.host.sendHeartbeat()
    this.wroteSinceTick = false
    if (this.readSinceTick || this.host.readingPaused) this.silentTicks = 0
    else if (++this.silentTicks >= 4) this.host.heartbeatMissed()
    this.readSinceTick = false
  }
}
