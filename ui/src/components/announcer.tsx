// Results of actions, said once: a polite live region for what worked ("Queue orders purged") and an
// assertive one for what failed, both visible, so sighted and screen-reader users learn the same thing.
import { useEffect, useState } from 'preact/hooks'

interface Notice {
  text: string
  error: boolean
  id: number
}

let show: ((n: Notice) => void) | undefined
let counter = 0

export function announce(text: string): void {
  show?.({ text, error: false, id: ++counter })
}

export function announceError(text: string): void {
  show?.({ text, error: true, id: ++counter })
}

/** "Could not delete queue x: reason" from whatever was thrown */
export function failed(what: string, err: unknown): void {
  announceError(`${what}: ${err instanceof Error ? err.message : String(err)}`)
}

export function Announcer() {
  const [notice, setNotice] = useState<Notice | undefined>()
  useEffect(() => {
    show = setNotice
    return () => {
      show = undefined
    }
  }, [])
  useEffect(() => {
    if (!notice) return undefined
    const timer = setTimeout(() => setNotice(undefined), notice.error ? 20000 : 8000)
    return () => clearTimeout(timer)
  }, [notice])
  return (
    <div class="announcer">
      <div role="status" aria-live="polite" class={notice && !notice.error ? 'notice ok' : 'notice'}>
        {notice && !notice.error ? notice.text : ''}
      </div>
      <div role="alert" class={notice?.error ? 'notice error' : 'notice'}>
        {notice?.error ? notice.text : ''}
        {notice?.error && (
          <button type="button" class="link" onClick={() => setNotice(undefined)}>
            Dismiss
          </button>
        )}
      </div>
    </div>
  )
}
