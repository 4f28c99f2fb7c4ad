// RabbitMQ's memory alarm: while the broker's resident memory is above the high watermark, the memory
// resource alarm is set and publishers are blocked (resource-alarms.ts) until it falls back.
import type { Logger } from '../util/logger.js'
import type { ResourceAlarms } from './resource-alarms.js'

const CHECK_INTERVAL_MS = 1000

export class MemoryAlarm {
  active = false
  private timer: NodeJS.Timeout | undefined

  constructor(
    /** Bytes of resident memory above which the alarm goes off (default in config/config.ts) */
    private highWatermark: number,
    private readonly alarms: ResourceAlarms,
    private readonly log: Logger,
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
    // RabbitMQ's vm_memory_monitor words it so
    this.log.info(
      { used, allowed: this.highWatermark },
      `vm_memory_high_watermark ${active ? 'set' : 'clear'}. Memory used:${used} allowed:${this.highWatermark}`,
    )
    this.alarms.update('memory', active)
  }
}
