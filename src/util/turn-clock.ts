// Date.now() read at most once per event-loop turn, for timestamps taken per message (a delivery's time, for
// consumer_timeout): a clock read costs far more than the rest of such bookkeeping, and everything done in
// one turn may share the turn's time.

let now = 0
let fresh = false
const expire = (): void => {
  fresh = false
}

/** Date.now() as of the first call in this event-loop turn. */
export function turnNow(): number {
  if (!fresh) {
    now = Date.now()
    fresh = true
    setImmediate(expire)
  }
  return now
}
