// The management HTTP API as the app calls it: every request carries the logged-in user's basic auth.
// Credentials live in sessionStorage (as RabbitMQ's UI keeps them: for this tab, gone when it closes, never
// sent anywhere but this origin). A 401 that says the credentials no longer work (the user was deleted or
// its password changed) ends the session; a 401 "not authorised" for one object (a monitoring user asking
// for users) is an ordinary error shown where it happened.

const AUTH_KEY = 'warren.auth'
const USER_KEY = 'warren.user'

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly reason: string,
  ) {
    super(reason !== '' ? reason : error !== '' ? error : `HTTP ${status}`)
  }
}

export interface Session {
  name: string
  tags: string[]
}

let authorization: string | null = sessionStorage.getItem(AUTH_KEY)
const sessionListeners = new Set<(ended: string | undefined) => void>()

export const basicAuth = (user: string, password: string): string => {
  // btoa takes Latin-1 only: encode UTF-8 first, as browsers send basic auth
  const bytes = new TextEncoder().encode(`${user}:${password}`)
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return 'Basic ' + btoa(binary)
}

/** The stored session (user and tags), if the tab is logged in */
export function storedSession(): Session | undefined {
  const raw = sessionStorage.getItem(USER_KEY)
  if (!authorization || !raw) return undefined
  try {
    return JSON.parse(raw) as Session
  } catch {
    return undefined
  }
}

/** Checks credentials with GET /api/whoami; keeps them for the tab when they work */
export async function login(user: string, password: string): Promise<Session> {
  const auth = basicAuth(user, password)
  const session = await request<Session>('GET', '/api/whoami', undefined, { authorization: auth, quiet: true })
  authorization = auth
  sessionStorage.setItem(AUTH_KEY, auth)
  sessionStorage.setItem(USER_KEY, JSON.stringify({ name: session.name, tags: session.tags }))
  return session
}

/** Forgets the credentials; `reason` is shown on the login form (undefined: an ordinary logout) */
export function logout(reason?: string): void {
  authorization = null
  sessionStorage.removeItem(AUTH_KEY)
  sessionStorage.removeItem(USER_KEY)
  for (const listener of sessionListeners) listener(reason)
}

export function onSessionEnd(listener: (reason: string | undefined) => void): () => void {
  sessionListeners.add(listener)
  return () => sessionListeners.delete(listener)
}

/** A path segment: vhost `/` is `%2F` */
export const enc = (segment: string): string => encodeURIComponent(segment)

interface RequestOptions {
  authorization?: string
  headers?: Record<string, string>
  /** A failed login must not end the session it is trying to start */
  quiet?: boolean
}

export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  options: RequestOptions = {},
): Promise<T> {
  const auth = options.authorization ?? authorization
  // X-Requested-With: the server then leaves WWW-Authenticate out of a 401, which would make the browser
  // put up its own password prompt (src/management/ui.ts)
  const headers: Record<string, string> = { 'x-requested-with': 'XMLHttpRequest', ...options.headers }
  if (auth) headers['authorization'] = auth
  if (body !== undefined) headers['content-type'] = 'application/json'
  let res: Response
  try {
    res = await fetch(path, {
      method,
      headers,
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    })
  } catch {
    throw new ApiError(0, 'network', 'The broker cannot be reached')
  }
  const text = await res.text()
  let json: unknown = undefined
  if (text !== '') {
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
  }
  if (!res.ok) {
    const e = (json ?? {}) as { error?: unknown; reason?: unknown }
    const error = new ApiError(
      res.status,
      typeof e.error === 'string' ? e.error : '',
      typeof e.reason === 'string' ? e.reason : res.statusText,
    )
    // Credentials refused outright (a bare 401, or "Login failed"): the session is over
    if (res.status === 401 && !options.quiet && (error.error === '' || error.error === 'not_authorized')) {
      logout('Your credentials are no longer accepted: log in again.')
    }
    throw error
  }
  return json as T
}

export const get = <T>(path: string): Promise<T> => request<T>('GET', path)

/** A list path for the selected vhost: `/api/queues` for all, `/api/queues/%2F` for one */
export const listPath = (kind: string, vhost: string): string =>
  vhost === '' ? `/api/${kind}` : `/api/${kind}/${enc(vhost)}`

// The shapes the pages read (RabbitMQ's field names; only what the pages use)

export interface Rate {
  rate: number
  /** With `?msg_rates_age=&msg_rates_incr=` (lengths_*): RabbitMQ's history, newest first */
  samples?: { sample: number; timestamp: number }[]
}
export type MessageStats = Partial<Record<string, number | Rate>>

export interface Overview {
  product_name?: string
  product_version?: string
  rabbitmq_version?: string
  node: string
  object_totals: { channels: number; connections: number; consumers: number; exchanges: number; queues: number }
  queue_totals: { messages: number; messages_ready: number; messages_unacknowledged: number } & Record<string, unknown>
  message_stats?: MessageStats
  listeners: { protocol: string; ip_address: string; port: number }[]
  exchange_types: { name: string }[]
}

export interface NodeInfo {
  name: string
  uptime: number
  processors?: number
  mem_used: number
  mem_limit: number
  mem_alarm: boolean
  disk_free?: number
  disk_free_limit: number
  disk_free_alarm: boolean
  fd_used?: number
  fd_total?: number
  sockets_used?: number
  sockets_total?: number
  os_pid?: string
  db_dir?: string
}

export interface Queue {
  name: string
  vhost: string
  type: string
  durable: boolean
  auto_delete: boolean
  exclusive: boolean
  arguments: Record<string, unknown>
  state: string
  consumers: number
  messages: number
  messages_ready: number
  messages_unacknowledged: number
  policy: string | null
  message_stats?: MessageStats
}

export interface Paged<T> {
  items: T[]
  page: number
  page_count: number
  page_size: number
  filtered_count: number
  item_count: number
  total_count: number
}

export interface Exchange {
  name: string
  vhost: string
  type: string
  durable: boolean
  auto_delete: boolean
  internal: boolean
  arguments: Record<string, unknown>
  message_stats?: MessageStats
}

export interface Binding {
  source: string
  vhost: string
  destination: string
  destination_type: 'queue' | 'exchange'
  routing_key: string
  arguments: Record<string, unknown>
  properties_key: string
}

export interface Connection {
  name: string
  vhost: string
  user: string
  state: string
  protocol: string
  channels: number
  peer_host: string
  peer_port: number
  frame_max?: number
  channel_max?: number
  client_properties: Record<string, unknown>
  /** The client's own name for the connection (client property connection_name), when it gave one */
  user_provided_name?: string
}

export interface Channel {
  name: string
  number: number
  vhost: string
  user: string
  state: string
  connection_details: { name: string; peer_host: string; peer_port: number }
  consumer_count: number
  messages_unacknowledged: number
  prefetch_count: number
  global_prefetch_count: number
  confirm: boolean
  transactional: boolean
}

export interface Consumer {
  consumer_tag: string
  queue: { name: string; vhost: string }
  channel_details: { connection_name: string; name: string; peer_host: string; peer_port: number; user: string }
  ack_required: boolean
  exclusive: boolean
  prefetch_count: number
  arguments: Record<string, unknown>
  active: boolean
}

export interface Vhost {
  name: string
  description: string
  tags: string[]
  messages: number
  messages_ready: number
  messages_unacknowledged: number
}

export interface User {
  name: string
  tags: string[]
  password_hash: string
  limits: Record<string, number>
}

export interface Permission {
  user: string
  vhost: string
  configure: string
  write: string
  read: string
}

export interface TopicPermission {
  user: string
  vhost: string
  exchange: string
  write: string
  read: string
}

export interface Policy {
  vhost: string
  name: string
  pattern: string
  'apply-to': string
  definition: Record<string, unknown>
  priority: number
}

/** /api/vhost-limits and /api/user-limits items */
export interface LimitsItem {
  vhost?: string
  user?: string
  value: Record<string, number>
}

/** A message as /get and the peek endpoint list it */
export interface MessageItem {
  payload_bytes: number
  redelivered: boolean
  exchange: string
  routing_key: string
  message_count: number
  properties: Record<string, unknown> | []
  payload: string
  payload_encoding: 'string' | 'base64'
  /** The peek endpoint's: the message's place among the ready messages, 0 at the head */
  position?: number
}

export const rateOf = (stats: MessageStats | undefined, name: string): number => {
  const d = stats?.[`${name}_details`]
  return typeof d === 'object' && d !== null ? d.rate : 0
}

export const countOf = (stats: MessageStats | undefined, name: string): number => {
  const v = stats?.[name]
  return typeof v === 'number' ? v : 0
}
