// The management HTTP API seen from warrenctl: one request at a time with basic auth, RabbitMQ's error
// bodies ({"error", "reason"}) turned into one-line errors that carry warrenctl's exit code.

/** warrenctl's exit codes: rabbitmqctl's (sysexits.h) where it has one, 1 for a refused request */
export const EXIT = {
  ok: 0,
  /** The API refused the request: an object not found, a bad argument, a precondition */
  refused: 1,
  /** Bad usage: an unknown command or option, a missing argument, an unknown column (EX_USAGE) */
  usage: 64,
  /** The management API cannot be reached (EX_UNAVAILABLE) */
  unavailable: 69,
  /** Wrong credentials, or a user the API does not let in (EX_NOPERM) */
  noPermission: 77,
} as const

/** An error warrenctl reports in one line on stderr and exits with */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message)
  }
}

export interface ClientOptions {
  url: string
  user: string
  password: string
}

export interface RequestOptions {
  body?: unknown
  headers?: Record<string, string>
  /** What the path names, for the message a 404 gets: "queue 'q' in vhost '/'" */
  subject?: string
  /** Messages for the API's terse reasons ('vhost_or_user_not_found'), said in the command's terms */
  reasons?: Record<string, string>
}

/** A path segment as RabbitMQ's API expects it: '/' (the default vhost) as %2F */
export const seg = (s: string): string => encodeURIComponent(s)

export class ApiClient {
  private readonly base: string
  private readonly authorization: string

  constructor(private readonly options: ClientOptions) {
    this.base = options.url.replace(/\/+$/, '')
    this.authorization = 'Basic ' + Buffer.from(`${options.user}:${options.password}`).toString('base64')
  }

  get<T = unknown>(path: string, opts: RequestOptions = {}): Promise<T> {
    return this.request('GET', path, opts) as Promise<T>
  }

  /** GET that answers undefined for a 404 instead of failing */
  async find<T = unknown>(path: string): Promise<T | undefined> {
    try {
      return (await this.request('GET', path, { subject: '' })) as T
    } catch (err) {
      if (err instanceof NotFound) return undefined
      throw err
    }
  }

  put(path: string, body: unknown, opts: RequestOptions = {}): Promise<unknown> {
    return this.request('PUT', path, { ...opts, body })
  }

  post(path: string, body: unknown, opts: RequestOptions = {}): Promise<unknown> {
    return this.request('POST', path, { ...opts, body })
  }

  delete(path: string, opts: RequestOptions = {}): Promise<unknown> {
    return this.request('DELETE', path, opts)
  }

  async request(method: string, path: string, opts: RequestOptions = {}): Promise<unknown> {
    const headers: Record<string, string> = { authorization: this.authorization, ...opts.headers }
    if (opts.body !== undefined) headers['content-type'] = 'application/json'
    let res: Response
    try {
      res = await fetch(this.base + path, {
        method,
        headers,
        ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
      })
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause
      const why = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err))
      throw new CliError(`cannot reach the management API at ${this.base}: ${why}`, EXIT.unavailable)
    }
    const text = await res.text()
    let body: unknown = undefined
    if (text !== '') {
      try {
        body = JSON.parse(text)
      } catch {
        body = text
      }
    }
    if (res.ok) return body
    const reason = reasonOf(body) ?? res.statusText
    if (res.status === 401) {
      throw new CliError(`access refused for user '${this.options.user}' at ${this.base}: ${reason}`, EXIT.noPermission)
    }
    if (res.status === 404 && opts.subject !== undefined) {
      throw new NotFound(opts.subject === '' ? `${path} not found` : `${opts.subject} not found`)
    }
    const explained = opts.reasons?.[reason]
    if (explained !== undefined) throw new CliError(explained, EXIT.refused)
    throw new CliError(`${method} ${path} refused (${res.status}): ${reason}`, EXIT.refused)
  }
}

export class NotFound extends CliError {
  constructor(message: string) {
    super(message, EXIT.refused)
  }
}

function reasonOf(body: unknown): string | undefined {
  if (typeof body === 'string') return body.trim() || undefined
  if (body !== null && typeof body === 'object') {
    const { reason, error } = body as { reason?: unknown; error?: unknown }
    if (typeof reason === 'string' && reason !== '') return reason
    if (typeof error === 'string') return error
  }
  return undefined
}
