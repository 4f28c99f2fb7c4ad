// What the user chose and the app keeps across visits (localStorage): the vhost every list shows (''
// for all) and how often pages refresh. Both are read through a context so a change applies everywhere.
import { createContext } from 'preact'
import { useContext } from 'preact/hooks'

const VHOST_KEY = 'warren.vhost'
const REFRESH_KEY = 'warren.refresh'

export const REFRESH_CHOICES = [2000, 5000, 10000, 30000, 0]
const DEFAULT_REFRESH = 5000

export function storedVhost(): string {
  return localStorage.getItem(VHOST_KEY) ?? ''
}

export function storeVhost(vhost: string): void {
  localStorage.setItem(VHOST_KEY, vhost)
}

export function storedRefresh(): number {
  const value = Number(localStorage.getItem(REFRESH_KEY) ?? DEFAULT_REFRESH)
  return REFRESH_CHOICES.includes(value) ? value : DEFAULT_REFRESH
}

export function storeRefresh(ms: number): void {
  localStorage.setItem(REFRESH_KEY, String(ms))
}

export interface Settings {
  /** '' for every vhost */
  vhost: string
  /** ms between refreshes; 0 for none */
  refresh: number
  /** The logged-in user */
  user: string
  tags: string[]
  /** The vhosts the user sees, for selectors */
  vhosts: string[]
  /** Reloads the vhost list (after one was added or deleted) */
  reloadVhosts(): void
}

export const SettingsContext = createContext<Settings>({
  vhost: '',
  refresh: DEFAULT_REFRESH,
  user: '',
  tags: [],
  vhosts: [],
  reloadVhosts: () => undefined,
})

export const useSettings = (): Settings => useContext(SettingsContext)

export const isAdministrator = (s: Settings): boolean => s.tags.includes('administrator')
export const isPolicymaker = (s: Settings): boolean =>
  s.tags.includes('administrator') || s.tags.includes('policymaker')
