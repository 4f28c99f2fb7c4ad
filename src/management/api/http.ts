// The HTTP side of the management API: a small router (method + path pattern, each path segment
// %-decoded, so `/api/queues/%2F/q` names vhost `/`), request bodies, and RabbitMQ's status codes and
// error bodies (rabbit_mgmt_util), checked against RabbitMQ 3.10.8 with curl.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Access } from './auth.js'
import { HttpError, badRequest, notFoundError } from './errors.js'

export { HttpError, badRequest, notAuthorised, notFoundError } from './errors.js'

export type Params = Record<string, string>

export interface Request {
  readonly method: string
  readonly params: Params
  readonly query: URLSearchParams
  readonly headers: IncomingMessage['headers']
  /** The authenticated user's checks */
  readonly access: Access
  /** The body parsed as JSON; an empty body is {} (RabbitMQ treats it so); not JSON: 400 not_json */
  json(): Record<string, unknown>
}

/** What a handler answers: a JSON value (200), or a bare status (201, 204) */
export type Reply = { status: number; body?: unknown; headers?: Record<string, string> }

export type Handler = (req: Request) => Reply | Promise<Reply>

interface Route {
  method: string
  segments: string[]
  handler: Handler
}

export class Router {
  private readonly routes: Route[] = []

  /** pattern: '/api/queues/:vhost/:name'; a ':name' segment matches one %-decoded path segment */
  add(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method, segments: pattern.split('/').filter((s) => s !== ''), handler })
    return this
  }

  /**
   * The handler for a request: 404 if no pattern matches the path, 405 (with Allow, no body, as RabbitMQ)
   * if some does but not for this method.
   */
  match(method: string, path: string[]): { handler: Handler; params: Params } {
    const allowed = new Set<string>()
    for (const route of this.routes) {
      const params = matchSegments(route.segments, path)
      if (!params) continue
      if (route.method === method || (method === 'HEAD' && route.method === 'GET')) {
        return { handler: route.handler, params }
      }
      allowed.add(route.method)
    }
    if (allowed.size === 0) throw notFoundError()
    if (allowed.has('GET')) allowed.add('HEAD')
    allowed.add('OPTIONS')
    throw new HttpError(405, '', '', { allow: [...allowed].sort().join(', ') })
  }
}

function matchSegments(pattern: string[], path: string[]): Params | undefined {
  if (pattern.length !== path.length) return undefined
  const params: Params = {}
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!
    if (p.startsWith(':')) params[p.slice(1)] = path[i]!
    else if (p !== path[i]) return undefined
  }
  return params
}

/** The path's segments, each %-decoded; undefined for a malformed escape */
export function pathSegments(rawPath: string): string[] | undefined {
  try {
    return rawPath
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s))
  } catch {
    return undefined
  }
}

const MAX_BODY = 64 * 1024 * 1024

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY) {
        reject(new HttpError(413, 'bad_request', 'request body too large'))
        req.destroy()
      } else chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

export function parseJsonBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {}
  let value: unknown
  try {
    value = JSON.parse(body.toString('utf8'))
  } catch {
    throw badRequest('not_json')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest('not_json')
  return value as Record<string, unknown>
}

export function send(res: ServerResponse, reply: Reply, head: boolean): void {
  const headers: Record<string, string> = { ...reply.headers }
  if (reply.body === undefined) {
    res.writeHead(reply.status, headers).end()
    return
  }
  const text = JSON.stringify(reply.body)
  headers['content-type'] = 'application/json'
  headers['content-length'] = String(Buffer.byteLength(text))
  res.writeHead(reply.status, headers).end(head ? undefined : text)
}

export function sendError(res: ServerResponse, err: HttpError): void {
  // 405 and a request without credentials have no body in RabbitMQ
  const body = err.error === '' ? undefined : { error: err.error, reason: err.reason }
  send(res, { status: err.status, body, headers: err.headers }, false)
}

export const ok = (body: unknown): Reply => ({ status: 200, body })
export const created = (): Reply => ({ status: 201 })
export const noContent = (): Reply => ({ status: 204 })
/** PUT of something new: 201; of something that existed: 204 (RabbitMQ) */
export const putReply = (existed: boolean): Reply => (existed ? noContent() : created())

/** A body field: a string, or a missing one as `fallback` */
export function stringField(body: Record<string, unknown>, key: string, fallback: string): string {
  const v = body[key]
  if (v === undefined || v === null) return fallback
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  throw badRequest(`${key} must be a string`)
}

/** A boolean field as RabbitMQ reads them: true/false, or the strings "true"/"false" (rabbitmqadmin sends those) */
export function booleanField(body: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const v = body[key]
  if (v === undefined || v === null) return fallback
  if (v === true || v === 'true') return true
  if (v === false || v === 'false') return false
  throw badRequest(`${key} must be a boolean`)
}

/**
 * The keys a body must have, refused as RabbitMQ's rabbit_mgmt_util:with_decode refuses them: 400 with the
 * missing keys as Erlang prints the list ("[{key_missing,ackmode},{key_missing,encoding}]"; one per line
 * once the line would pass 80 characters, as io_lib's ~p wraps it).
 */
export function requireKeys(body: Record<string, unknown>, keys: string[]): void {
  const missing = keys.filter((k) => body[k] === undefined).map((k) => `{key_missing,${k}}`)
  if (missing.length === 0) return
  const oneLine = `[${missing.join(',')}]`
  throw badRequest(oneLine.length <= 80 ? oneLine : `[${missing.join(',\n ')}]`)
}
