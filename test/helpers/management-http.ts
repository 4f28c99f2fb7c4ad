// A client of the management HTTP API for tests: real requests with node's fetch and HTTP basic auth.
// Response bodies are looked at field by field; their shapes are what the tests assert.
import { startManagementServer, type ManagementServer } from '../../src/management/api/server.js'
import { startBroker, type InProcessBroker, type StartOptions } from './broker.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Body = any

export interface ApiReply {
  status: number
  headers: Headers
  text: string
  /** The parsed body; undefined when it is empty */
  json: Body
}

export const basicAuth = (user: string, pass: string) => 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64')

export const GUEST = basicAuth('guest', 'guest')

/**
 * `call(method, path, body?, authorization?)` against the API at `base()` (a function: tests learn the port
 * in `before`). A string body is sent as is (to test malformed JSON); an empty authorization sends none.
 */
export function apiClient(base: () => string) {
  return async function call(method: string, path: string, body?: unknown, authorization = GUEST): Promise<ApiReply> {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (authorization !== '') headers['authorization'] = authorization
    const res = await fetch(base() + path, {
      method,
      headers,
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    })
    const text = await res.text()
    return {
      status: res.status,
      headers: res.headers,
      text,
      json: text === '' ? undefined : (JSON.parse(text) as Body),
    }
  }
}

/** An in-process broker with its management API on a free loopback port, and the API's base URL. */
export async function startBrokerWithApi(
  options: StartOptions = {},
): Promise<{ broker: InProcessBroker; api: ManagementServer; base: string }> {
  const broker = await startBroker({ ...options, inProcess: true })
  const api = await startManagementServer(broker.broker, () => broker.connections, { port: 0, host: '127.0.0.1' })
  return { broker, api, base: `http://127.0.0.1:${api.port}` }
}
