// The web UI on the management listener, as RabbitMQ serves its own: the built single-page app (ui/, built
// by `vite build` into dist/ui) at `/`, its files under /assets/, without authentication (the files hold
// no data; every API call the app makes carries basic auth and is checked as any other). The app routes
// with the URL's hash (#/queues/%2F/name), so `/` and `/assets/*` are all it needs. A build without the dev
// dependencies has no dist/ui: `/` then says so in plain text, and the API works as ever.
import { readFile } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import { extname, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HttpError } from './api/errors.js'

/** dist/ui, next to dist/src (this module is dist/src/management/ui.js once compiled) */
const UI_ROOT = fileURLToPath(new URL('../../ui/', import.meta.url))

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
}

// Everything the app loads is its own: scripts, styles and API calls from this origin, nothing from
// elsewhere (the UI works offline). Inline styles are allowed for the chart library's positioning.
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
}

const NOT_BUILT =
  "Warren's web UI is not part of this build: dist/ui is missing (it is built by `npm run build` with the dev\n" +
  'dependencies installed, and shipped in the npm package). The management HTTP API answers under /api/.\n'

/**
 * The app logs in with its own form and sends `X-Requested-With: XMLHttpRequest` on its API calls. A
 * browser that sees `WWW-Authenticate: Basic` on a 401 puts up its own password prompt over the page (and
 * holds the request until it is answered), so the app's 401s come without that header; other clients get
 * RabbitMQ's answer unchanged.
 */
export function withoutBrowserPrompt(requestedWith: string | string[] | undefined, error: HttpError): HttpError {
  if (requestedWith !== 'XMLHttpRequest' || !('www-authenticate' in error.headers)) return error
  const { 'www-authenticate': _prompt, ...headers } = error.headers
  return new HttpError(error.status, error.error, error.reason, headers)
}

/** Whether the UI serves this request: GET or HEAD of anything outside /api */
export function isUiRequest(method: string, rawPath: string): boolean {
  return (method === 'GET' || method === 'HEAD') && rawPath !== '/api' && !rawPath.startsWith('/api/')
}

/**
 * The file for a path: `/` is index.html, anything else a file under dist/ui. Undefined when the path is
 * malformed or would leave the folder (`..`, encoded slashes or backslashes, NUL).
 */
export function uiFileOf(rawPath: string, root = UI_ROOT): string | undefined {
  if (rawPath === '/' || rawPath === '/index.html') return resolve(root, 'index.html')
  let decoded: string
  try {
    decoded = decodeURIComponent(rawPath)
  } catch {
    return undefined
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined
  const parts = decoded.split('/').filter((p) => p !== '')
  if (parts.length === 0 || parts.some((p) => p === '..' || p === '.')) return undefined
  const file = resolve(root, ...parts)
  return file.startsWith(resolve(root) + sep) ? file : undefined
}

function sendText(res: ServerResponse, status: number, text: string, head: boolean): void {
  res
    .writeHead(status, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(Buffer.byteLength(text)),
      ...SECURITY_HEADERS,
    })
    .end(head ? undefined : text)
}

/** Answers a UI request: the file, 404 for a missing one, or the plain note that the UI is not built */
export async function serveUi(res: ServerResponse, rawPath: string, head: boolean, root = UI_ROOT): Promise<void> {
  const file = uiFileOf(rawPath, root)
  if (!file) return sendText(res, 404, 'Not found\n', head)
  let body: Buffer
  try {
    body = await readFile(file)
  } catch {
    // index.html missing means no UI was built; any other missing file is an ordinary 404
    return sendText(res, 404, file === resolve(root, 'index.html') ? NOT_BUILT : 'Not found\n', head)
  }
  // Vite names every asset after its content hash: cached for good. index.html names them: never cached.
  const hashed = rawPath.startsWith('/assets/')
  res
    .writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': String(body.length),
      'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
      ...SECURITY_HEADERS,
    })
    .end(head ? undefined : body)
}
