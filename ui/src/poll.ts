// Live data without reloading the page: a loader run now and again every `refresh` ms (the user's choice),
// paused while the tab is hidden and run at once when it shows again. reload() runs it after an action.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import { useSettings } from './settings.js'

export interface Polled<T> {
  data?: T
  error?: Error
  /** true until the first answer (or error) */
  loading: boolean
  reload(): void
}

export function usePoll<T>(load: () => Promise<T>, deps: unknown[], refresh?: number): Polled<T> {
  const settings = useSettings()
  const interval = refresh ?? settings.refresh
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true })
  const loadRef = useRef(load)
  loadRef.current = load
  const generation = useRef(0)
  const inFlight = useRef(false)

  const run = useCallback(() => {
    const mine = ++generation.current
    inFlight.current = true
    loadRef
      .current()
      .then(
        (data) => {
          if (mine === generation.current) setState({ data, loading: false })
        },
        (error: unknown) => {
          if (mine === generation.current)
            setState((s) => ({
              ...s,
              error: error instanceof Error ? error : new Error(String(error)),
              loading: false,
            }))
        },
      )
      .finally(() => {
        if (mine === generation.current) inFlight.current = false
      })
  }, [])

  useEffect(() => {
    // New arguments (another page or filter of a list): load at once; the last answer stays on screen until
    // the new one comes (an entity page is remounted for another entity, so it never shows a stale one)
    run()
    return () => {
      generation.current++
    }
  }, deps)

  useEffect(() => {
    if (interval <= 0) return undefined
    const tick = () => {
      if (!document.hidden && !inFlight.current) run()
    }
    const timer = setInterval(tick, interval)
    const visibility = () => {
      if (!document.hidden) run()
    }
    document.addEventListener('visibilitychange', visibility)
    return () => {
      clearInterval(timer)
      document.removeEventListener('visibilitychange', visibility)
    }
  }, [interval, run])

  return { ...state, reload: run }
}
