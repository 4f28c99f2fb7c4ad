// Hash routing: `#/queues/%2F/orders` is the page "queues" with the segments ["/", "orders"]. The server
// then needs only `/` and `/assets/*`, and every page has a URL that can be bookmarked and shared.
import { useEffect, useState } from 'preact/hooks'

export interface Route {
  page: string
  args: string[]
}

export function parseHash(hash: string): Route {
  const parts = hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter((p) => p !== '')
    .map((p) => {
      try {
        return decodeURIComponent(p)
      } catch {
        return p
      }
    })
  return { page: parts[0] ?? 'overview', args: parts.slice(1) }
}

/** The href of a page: href('queues', '/', 'orders') is '#/queues/%2F/orders' */
export const href = (page: string, ...args: string[]): string =>
  '#/' + [page, ...args.map((a) => encodeURIComponent(a))].join('/')

export function navigate(page: string, ...args: string[]): void {
  location.hash = href(page, ...args)
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash))
  useEffect(() => {
    const changed = () => setRoute(parseHash(location.hash))
    addEventListener('hashchange', changed)
    return () => removeEventListener('hashchange', changed)
  }, [])
  return route
}
