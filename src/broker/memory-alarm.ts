// RabbitMQ's memory alarm: when the broker's resident memory passes the high watermark, publishing
// connections are blocked (connection.blocked, then the socket is not read) until it falls back, while
// consumers carry on draining queues.
const CHECK_INTERVAL_MS = 1000

export interface AlarmListener {
  alarmChanged(active: boolean): void
}

export class MemoryAlarm {
  active = false
  private timer: NodeJS.Timeout | undefined
  private readonly listeners = new Set<AlarmListener>()

  constructor(
    /** Bytes of resident memory above which the alarm goes off (default in config/config.ts) */
    private highWatermark: number,
    private readonly readMemory: () => number = () => process.memoryUsage.rss(),
  ) {}

  start(): void {
    this.timer = setInterval(() => this.check(), CHECK_INTERVAL_MS)
    this.timer.unref()
    this.check()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  setHighWatermark(bytes: number): void {
    this.highWatermark = bytes
    this.check()
  }

  subscribe(listener: AlarmListener): void {
    this.listeners.add(listener)
  }

  unsubscribe(listener: AlarmListener): void {
    this.listeners.delete(listener)
  }

  check(): void {
    let used: number
    try {
      used = this.readMemory()
    } catch {
      return // reading it needs a file descriptor (/proc/self/stat): out of them (EMFILE), try at the next tick
    }
    const active = used > this.highWatermark
    if (active === this.active) return
    this.active = active
    for (const l of this.listeners) l.alarmChanged(active)
  }
}
