// Starts a broker for a test: Warren in-process on port 0 with a fresh data directory, or, when
// WARREN_TEST_URL is set (amqp://user:pass@host:port), an external broker such as RabbitMQ, so the same
// tests can be checked against the reference implementation.
//
// This is the one way integration tests start an in-process broker. Tests that must run Warren in a
// separate process (kill -9, a descriptor limit set with prlimit) use ./broker-process.ts instead.
//
// Data directories: a `dataDir` passed in is the test's own and is never removed. Otherwise the helper
// makes a temporary one, removed by stop() (unless stop({ keepDataDir: true })), by stopAllBrokers(), and
// at the latest when the test process exits.
import { rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Broker } from '../../src/broker/broker.js'
import type { Config } from '../../src/config/config.js'
import type { Connection } from '../../src/server/connection.js'
import type { MessageStoreOptions } from '../../src/store/message-store.js'

/** Any broker setting (Config), plus what only tests need. */
export interface StartOptions extends Partial<Config> {
  /** The message store's options: a fileSystem that injects faults, a small segmentSize */
  store?: MessageStoreOptions
  /**
   * Warren in this process even when WARREN_TEST_URL is set: for tests that look at Warren's internals or
   * set its own limits, which an external broker cannot give them.
   */
  inProcess?: boolean
  /**
   * Called with Warren's broker once it listens, before the test connects: users, permissions... set on
   * the model directly. Against an external broker (WARREN_TEST_URL) it is not called: that broker is set
   * up by whoever runs it.
   */
  setup?: (broker: Broker) => void
}

export interface StopOptions {
  /** Leave the temporary data directory in place (to look into it, or to start on it again) */
  keepDataDir?: boolean
}

export interface TestBroker {
  host: string
  port: number
  /** amqp://guest:guest@127.0.0.1:PORT/ (with defaultUser/defaultPass), or WARREN_TEST_URL */
  url: string
  /** The data directory; '' for an external broker */
  dataDir: string
  /** true when the tests run against an external broker (WARREN_TEST_URL) */
  external: boolean
  /** Warren's broker (vhosts, queues, alarms) for tests that inspect it; undefined for an external broker */
  broker: Broker | undefined
  /** The client connections open now; undefined for an external broker */
  connections: ReadonlySet<Connection> | undefined
  /** Stops the broker (once; later calls only remove the data directory) */
  stop(options?: StopOptions): Promise<void>
}

/** Warren running in this process (always so with `inProcess: true`). */
export interface InProcessBroker extends TestBroker {
  external: false
  broker: Broker
  connections: ReadonlySet<Connection>
  /** The TLS (amqps) listener's port, when options.tls asked for one */
  tlsPort: number | undefined
  /**
   * Stops this broker if it still runs, keeping its data directory, and starts a new one on that directory
   * with the same options but `changes` (a new port: use the new handle's url). The new handle takes over
   * the data directory; this one must not be used any more.
   */
  restart(changes?: Omit<StartOptions, 'dataDir' | 'inProcess'>): Promise<InProcessBroker>
}

/** In-process brokers still running, and the temporary data directories still on disk */
const running = new Set<InProcessBroker>()
const madeDirs = new Set<string>()

process.on('exit', () => {
  for (const dir of madeDirs) rmSync(dir, { recursive: true, force: true })
})

/** Stops every in-process broker still running and removes every temporary data directory (for after hooks). */
export async function stopAllBrokers(): Promise<void> {
  for (const broker of [...running]) await broker.stop().catch(() => undefined)
  for (const dir of [...madeDirs]) await rm(dir, { recursive: true, force: true })
  madeDirs.clear()
}

/**
 * A temporary data directory for a test that prepares it before a broker starts on it (startBroker({ dataDir })).
 * stopAllBrokers() removes it, as the test process's exit does.
 */
export async function makeDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'warren-test-'))
  madeDirs.add(dir)
  return dir
}

export function startBroker(options: StartOptions & { inProcess: true }): Promise<InProcessBroker>
export function startBroker(options?: StartOptions): Promise<TestBroker>
export async function startBroker(options: StartOptions = {}): Promise<TestBroker> {
  const externalUrl = process.env['WARREN_TEST_URL']
  if (externalUrl && !options.inProcess) return externalBroker(externalUrl)
  if (options.dataDir !== undefined) return startInProcess(options, options.dataDir, false)
  const dataDir = await makeDataDir()
  try {
    return await startInProcess(options, dataDir, true)
  } catch (err) {
    madeDirs.delete(dataDir)
    await rm(dataDir, { recursive: true, force: true })
    throw err
  }
}

function externalBroker(url: string): TestBroker {
  const u = new URL(url)
  return {
    host: u.hostname,
    port: Number(u.port || 5672),
    url,
    dataDir: '',
    external: true,
    broker: undefined,
    connections: undefined,
    stop: async () => {},
  }
}

async function startInProcess(options: StartOptions, dataDir: string, ownsDataDir: boolean): Promise<InProcessBroker> {
  const { store, inProcess: _inProcess, setup, ...settings } = options
  // An option given as undefined means "the default", not "undefined"
  const config: Partial<Config> = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined))
  // Loaded here so that a run against WARREN_TEST_URL does not load the broker at all
  const serverModule = await import('../../src/server/start.js')
  const server = await serverModule.startServer(
    {
      port: 0,
      bind: '127.0.0.1',
      logLevel: process.env['WARREN_TEST_LOG'] ?? 'silent',
      ...config,
      dataDir,
    },
    store,
  )
  setup?.(server.broker)
  const bind = config.bind ?? '127.0.0.1'
  const host = bind === '0.0.0.0' ? '127.0.0.1' : bind === '::' ? '::1' : bind
  const user = encodeURIComponent(config.defaultUser ?? 'guest')
  const pass = encodeURIComponent(config.defaultPass ?? 'guest')
  let stopped = false
  const handle: InProcessBroker = {
    host,
    port: server.port,
    tlsPort: server.tlsPort,
    url: `amqp://${user}:${pass}@${host.includes(':') ? `[${host}]` : host}:${server.port}/`,
    dataDir,
    external: false,
    broker: server.broker,
    connections: server.connections,
    async stop({ keepDataDir = false }: StopOptions = {}) {
      if (!stopped) {
        stopped = true
        running.delete(handle)
        await server.stop()
      }
      if (ownsDataDir && !keepDataDir) {
        madeDirs.delete(dataDir)
        await rm(dataDir, { recursive: true, force: true })
      }
    },
    async restart(changes = {}) {
      await handle.stop({ keepDataDir: true })
      if (ownsDataDir && !madeDirs.has(dataDir)) {
        throw new Error('restart: stop() removed the data directory; stop({ keepDataDir: true }) keeps it')
      }
      // The data directory is the new handle's now: this one's stop() must not remove it
      const owned = ownsDataDir
      ownsDataDir = false
      return startInProcess({ ...options, ...changes }, dataDir, owned)
    },
  }
  running.add(handle)
  return handle
}
