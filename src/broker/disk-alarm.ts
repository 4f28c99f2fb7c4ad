// RabbitMQ's disk alarm: while the file system holding the data directory has less free space than the
// limit (--disk-free-limit, 50 MB by default), the disk resource alarm is set and publishers are blocked
// (resource-alarms.ts), so that the store seldom meets a full disk. Free space is what an unprivileged
// writer may still use (statfs: available blocks × block size), as RabbitMQ reads it from `df`.
//
// Checks come more often as free space nears the limit, like RabbitMQ's disk monitor: the next check is
// due when a disk filling at 250 MB/s would have used half of the margin, kept between 100 ms and 10 s;
// while the alarm is set, every 10 s.
import { statfs as fsStatfs } from 'node:fs/promises'
import type { Logger } from '../util/logger.js'
import type { ResourceAlarms } from './resource-alarms.js'

/** The part of fs.promises.statfs the alarm uses (tests inject their own). */
export type StatFs = (path: string) => Promise<{ bavail: number; bsize: number }>

/** RabbitMQ's assumed fastest fill rate, 250 MB/s, in bytes per millisecond */
const FAST_RATE = 250_000
const MIN_CHECK_INTERVAL_MS = 100
const MAX_CHECK_INTERVAL_MS = 10_000

/** Milliseconds until the next check (RabbitMQ's rabbit_disk_monitor:interval/1). */
export function checkInterval(free: number, limit: number, alarmed: boolean, minMs: number, maxMs: number): number {
  if (alarmed) return maxMs
  return Math.trunc(Math.max(minMs, Math.min(maxMs, (2 * (free - limit)) / FAST_RATE)))
}

export class DiskAlarm {
  active = false
  /** Free bytes at the last successful check */
  free: number | undefined
  private minIntervalMs = MIN_CHECK_INTERVAL_MS
  private maxIntervalMs = MAX_CHECK_INTERVAL_MS
  private running = false
  private timer: NodeJS.Timeout | undefined
  private inFlight: Promise<void> | undefined
  /** The last check failed: its error was logged, later ones are not until a check succeeds */
  private failing = false

  constructor(
    private readonly dir: string,
    /** Free bytes below which the alarm goes off (default in config/config.ts) */
    private limit: number,
    private readonly alarms: ResourceAlarms,
    private readonly log: Logger,
    private readonly statfs: StatFs = fsStatfs,
  ) {}

  start(): void {
    this.running = true
    this.log.info({ dir: this.dir, limit: this.limit }, `Disk free limit set to ${Math.trunc(this.limit / 1e6)}MB`)
    void this.check()
  }

  stop(): void {
    this.running = false
    clearTimeout(this.timer)
  }

  setLimit(bytes: number): Promise<void> {
    this.limit = bytes
    this.log.info({ limit: bytes }, `Disk free limit set to ${Math.trunc(bytes / 1e6)}MB`)
    return this.check()
  }

  /** Bounds of the adaptive interval (RabbitMQ's set_min_check_interval / set_max_check_interval). */
  setCheckIntervals(minMs: number, maxMs: number): void {
    this.minIntervalMs = minMs
    this.maxIntervalMs = maxMs
    if (this.inFlight === undefined) this.schedule()
  }

  /** Reads the free space now and sets or clears the alarm; the timer calls this, tests may too. */
  check(): Promise<void> {
    this.inFlight ??= this.update()
      // Never a rejection: the timer does not await this, and an unhandled one would end the process
      .catch((err: unknown) => this.log.error({ err: (err as Error).message }, 'free disk space check failed'))
      .finally(() => {
        this.inFlight = undefined
        this.schedule()
      })
    return this.inFlight
  }

  private async update(): Promise<void> {
    let free: number
    try {
      const { bavail, bsize } = await this.statfs(this.dir)
      free = Number(bavail) * Number(bsize)
    } catch (err) {
      // The alarm keeps its state: a monitor that cannot see the disk neither blocks nor frees publishers
      if (!this.failing) {
        this.log.warn({ dir: this.dir, err: (err as Error).message }, 'free disk space monitor cannot read free space')
      }
      this.failing = true
      this.free = undefined
      return
    }
    this.failing = false
    this.free = free
    const alarmed = free < this.limit
    if (alarmed === this.active) return
    this.active = alarmed
    this.log.info(
      { free, limit: this.limit },
      `Free disk space is ${alarmed ? 'insufficient' : 'sufficient'}. Free bytes: ${free}. Limit: ${this.limit}`,
    )
    this.alarms.update('disk', alarmed)
  }

  private schedule(): void {
    clearTimeout(this.timer)
    if (!this.running) return
    const ms =
      this.free === undefined
        ? this.maxIntervalMs
        : checkInterval(this.free, this.limit, this.active, this.minIntervalMs, this.maxIntervalMs)
    this.timer = setTimeout(() => void this.check(), ms)
    this.timer.unref()
  }
}
