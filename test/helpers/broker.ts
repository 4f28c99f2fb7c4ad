// Starts a broker for a test: Warren in-process on port 0 with a fresh data directory, or, when
// WARREN_TEST_URL is set (amqp://user:pass@host:port), an external broker such as RabbitMQ, so the same
// tests can be checked against the reference implementation.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface TestBroker {
  host: string
  port: number
  /** amqp://guest:guest@127.0.0.1:PORT/ (or WARREN_TEST_URL) */
  url: string
  dataDir: string
  /** true when the tests run against an external broker (WARREN_TEST_URL) */
  external: boolean
  stop(): Promise<void>
}

export interface StartOptions {
  defaultUser?: string
  defaultPass?: string
  dataDir?: string
  heartbeat?: number
  frameMax?: number
  channelMax?: number
  /** consumer_timeout, ms (0 = off); Warren only, an external broker keeps its own */
  consumerTimeout?: number
}

export async function startBroker(options: StartOptions = {}): Promise<TestBroker> {
  const externalUrl = process.env['WARREN_TEST_URL']
  if (externalUrl) {
    const u = new URL(externalUrl)
    return {
      host: u.hostname,
      port: Number(u.port || 5672),
      url: externalUrl,
      dataDir: '',
      external: true,
      stop: async () => {},
    }
  }
  const { startServer } = await import('../../src/server/start.js')
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'warren-test-')))
  const server = await startServer({
    port: 0,
    bind: '127.0.0.1',
    dataDir,
    logLevel: process.env['WARREN_TEST_LOG'] ?? 'silent',
    ...(options.defaultUser !== undefined ? { defaultUser: options.defaultUser } : {}),
    ...(options.defaultPass !== undefined ? { defaultPass: options.defaultPass } : {}),
    ...(options.heartbeat !== undefined ? { heartbeat: options.heartbeat } : {}),
    ...(options.frameMax !== undefined ? { frameMax: options.frameMax } : {}),
    ...(options.channelMax !== undefined ? { channelMax: options.channelMax } : {}),
    ...(options.consumerTimeout !== undefined ? { consumerTimeout: options.consumerTimeout } : {}),
  })
  const port = server.port
  const user = options.defaultUser ?? 'guest'
  const pass = options.defaultPass ?? 'guest'
  return {
    host: '127.0.0.1',
    port,
    url: `amqp://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@127.0.0.1:${port}/`,
    dataDir,
    external: false,
    stop: async () => {
      await server.stop()
      if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true })
    },
  }
}
