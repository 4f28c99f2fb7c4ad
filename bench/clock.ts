/**
 * One clock shared by every thread of the tool.
 *
 * process.hrtime reads the system monotonic clock, so a timestamp taken in a
 * publisher worker can be subtracted from one taken in a consumer worker (or
 * in another process on the same host). performance.now() cannot be used:
 * each worker has its own time origin.
 */
export function nowMicros(): number {
  const [seconds, nanos] = process.hrtime()
  return seconds * 1e6 + nanos / 1e3
}

export function nowMillis(): number {
  return nowMicros() / 1e3
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Publishers write nowMicros() as a little-endian double at the start of each body. */
export const TIMESTAMP_BYTES = 8
