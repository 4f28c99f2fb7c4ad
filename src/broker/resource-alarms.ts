// RabbitMQ's resource alarms: the memory monitor and the disk monitor each set and clear their alarm here.
// While any alarm is set, a connection that publishes is blocked (connection.blocked, then its socket is not
// read); when every alarm has cleared, blocked connections are unblocked. Connections that only consume are
// not blocked, so queues keep draining and acks keep flowing.
import type { Logger } from '../util/logger.js'

export type Resource = 'memory' | 'disk'

/** An open connection: told when the alarms go from none set to some set, and back. */
export interface AlarmListener {
  alarmChanged(active: boolean): void
}

export class ResourceAlarms {
  /** Some alarm is set: a connection that publishes now is blocked */
  active = false
  private readonly alarmed = new Set<Resource>()
  private readonly listeners = new Set<AlarmListener>()

  constructor(private readonly log: Logger) {}

  /** Whether the alarm of a resource is set now */
  isSet(resource: Resource): boolean {
    return this.alarmed.has(resource)
  }

  /** Sets or clears the alarm of one resource (the monitors call this on every change of theirs). */
  update(resource: Resource, alarmed: boolean): void {
    if (alarmed === this.alarmed.has(resource)) return
    if (alarmed) {
      this.alarmed.add(resource)
      this.log.warn(
        { resource },
        `${resource} resource limit alarm set. Publishers will be blocked until this alarm clears`,
      )
    } else {
      this.alarmed.delete(resource)
      this.log.warn({ resource }, `${resource} resource limit alarm cleared`)
    }
    const active = this.alarmed.size > 0
    if (active === this.active) return
    this.active = active
    for (const l of this.listeners) l.alarmChanged(active)
  }

  /**
   * The reason connection.blocked carries, as RabbitMQ words it: "low on memory", "low on disk" or, with
   * both set, "low on disk & memory" (RabbitMQ joins its set of alarms, which lists disk first).
   */
  get reason(): string {
    const resources: Resource[] = []
    if (this.alarmed.has('disk')) resources.push('disk')
    if (this.alarmed.has('memory')) resources.push('memory')
    return `low on ${resources.join(' & ')}`
  }

  /** The resources whose alarm is set, disk first (the management API's health check lists them) */
  get resources(): Resource[] {
    return (['disk', 'memory'] as const).filter((r) => this.alarmed.has(r))
  }

  subscribe(listener: AlarmListener): void {
    this.listeners.add(listener)
  }

  unsubscribe(listener: AlarmListener): void {
    this.listeners.delete(listener)
  }
}
