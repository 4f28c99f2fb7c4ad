// A one-shot timer for delays a client chooses (x-expires, message TTLs, policy values), which may be longer
// than setTimeout can wait: past 2^31-1 ms (about 24.8 days) Node fires after 1 ms instead, so a 30-day
// x-expires would delete its queue at once. This timer waits in steps of at most that much and checks the
// clock after each step, so it never fires before its due time, however long the delay.

/** The longest delay setTimeout honours. */
export const MAX_TIMEOUT_MS = 0x7fff_ffff

export class LongTimer {
  private handle: NodeJS.Timeout | undefined
  private dueAt = 0
  /** Bound once: re-arming allocates no closure */
  private readonly onStep = (): void => this.step()

  constructor(
    private readonly fire: () => void,
    /** The longest single wait; tests make it small */
    private readonly maxStepMs = MAX_TIMEOUT_MS,
  ) {}

  /** Arms the timer (again) to fire once, delayMs from now. */
  start(delayMs: number): void {
    this.startAt(Date.now() + delayMs)
  }

  /** Arms the timer (again) to fire once at a Date.now() time. */
  startAt(time: number): void {
    clearTimeout(this.handle)
    this.dueAt = time
    this.arm()
  }

  stop(): void {
    clearTimeout(this.handle)
    this.handle = undefined
  }

  /** Armed and not yet fired. */
  get pending(): boolean {
    return this.handle !== undefined
  }

  /** When it fires (Date.now() time), while pending. */
  get due(): number {
    return this.dueAt
  }

  private arm(): void {
    const wait = Math.min(Math.max(this.dueAt - Date.now(), 0), this.maxStepMs)
    this.handle = setTimeout(this.onStep, wait)
    // A pending expiry never keeps the process alive on its own
    this.handle.unref()
  }

  private step(): void {
    this.handle = undefined
    // Timers measure elapsed time from a cached loop clock and may end a little before Date.now() says
    if (Date.now() < this.dueAt) return this.arm()
    this.fire()
  }
}
