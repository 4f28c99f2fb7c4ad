import { nowMillis } from './clock.js'
import { readCpuSeconds, readRssBytes } from './proc-stat.js'

export interface BrokerSample {
  atMillis: number
  rssBytes: number
  cpuSeconds: number
}

/** Reads another process's memory and CPU use from /proc, to compare brokers' footprints. */
export class BrokerProbe {
  peakRssBytes = 0
  latest: BrokerSample
  private first: BrokerSample

  /** Throws if the process does not exist or /proc is unavailable. */
  constructor(readonly pid: number) {
    this.first = this.sample()
    this.latest = this.first
  }

  /** Starts the CPU measurement over again, e.g. once the load starts. */
  restartCpuMeasurement(): void {
    this.first = this.sample()
  }

  sample(): BrokerSample {
    const rssBytes = readRssBytes(this.pid)
    this.latest = { atMillis: nowMillis(), rssBytes, cpuSeconds: readCpuSeconds(`/proc/${this.pid}/stat`) }
    this.peakRssBytes = Math.max(this.peakRssBytes, rssBytes)
    return this.latest
  }

  /** Average CPU use since the measurement started, in percent of one core. */
  cpuPercent(): number {
    const seconds = (this.latest.atMillis - this.first.atMillis) / 1000
    return seconds > 0 ? ((this.latest.cpuSeconds - this.first.cpuSeconds) / seconds) * 100 : 0
  }
}
