// Starts a broker listening on TCP: what main.ts runs, what tests start in-process on port 0, and what the
// library's startBroker (src/index.ts) builds on. openBroker restores the broker's state; serve listens and
// also takes connections over any Duplex stream (handle).
import { mkdir } from 'node:fs/promises'
import { createServer, Socket, type AddressInfo, type Server } from 'node:net'
import type { Duplex } from 'node:stream'
import { Broker } from '../broker/broker.js'
import type { MessageStoreOptions } from '../store/message-store.js'
import { DEFAULTS, type Config } from '../config/config.js'
import { createLogger } from '../util/logger.js'
import type { Connection, ConnectionInfo } from './connection.js'
import { Clients } from './clients.js'

export interface RunningServer {
  readonly port: number
  readonly broker: Broker
  /** The client connections open now (for tests and diagnostics) */
  readonly connections: ReadonlySet<Connection>
  /**
   * Serves one AMQP connection over a stream that is not one of the listener's sockets. The peer's address
   * decides whether a loopback-only user (guest) may log in: a socket's own, or `peer`'s, else loopback.
   */
  handle(stream: Duplex, peer?: Partial<ConnectionInfo>): void
  /** Closes every connection with 320 CONNECTION_FORCED and stops listening. */
  stop(): Promise<void>
}

export async function startServer(
  options: Partial<Config> = {},
  storeOptions: MessageStoreOptions = {},
): Promise<RunningServer> {
  return serve(await openBroker({ ...DEFAULTS, ...options }, storeOptions))
}

/** A broker with its state restored (from config.dataDir, if any) and its resource alarms running. */
export async function openBroker(config: Config, storeOptions: MessageStoreOptions = {}): Promise<Broker> {
  const log = createLogger(config.logLevel)
  if (config.dataDir !== undefined) await mkdir(config.dataDir, { recursive: true })
  const broker = new Broker(config, log, storeOptions)
  await broker.open()
  broker.memoryAlarm.start()
  // With nothing on disk there is no disk to watch
  if (config.dataDir !== undefined) broker.diskAlarm.start()
  return broker
}

/** Listens on config.port and config.bind; if that fails, the broker is closed and the error thrown. */
export async function serve(broker: Broker): Promise<RunningServer> {
  const { config, log } = broker
  const clients = new Clients(broker)
  /** Sockets and streams not yet closed, those of connections that ended included */
  const streams = new Set<Duplex>()

  const accept = (stream: Duplex, info: ConnectionInfo) => {
    if (config.maxConnections > 0 && streams.size >= config.maxConnections) {
      // RabbitMQ's connection_max: the socket is closed at once, before the protocol header
      log.warn({ limit: config.maxConnections, client: info.remoteAddress }, 'connection limit reached: refused')
      stream.on('error', () => {})
      stream.destroy()
      return
    }
    if (stream instanceof Socket) stream.setNoDelay(true)
    streams.add(stream)
    stream.on('close', () => streams.delete(stream))
    clients.accept(stream, info)
  }
  const server: Server = createServer((socket) =>
    accept(socket, { remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0 }),
  )

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(config.port, config.bind, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (error) {
    await broker.close()
    throw error
  }
  // After listen, an 'error' is an accept failing (EMFILE, ENFILE, ENOBUFS when descriptors or memory run
  // out): libuv drops the waiting connection and keeps listening, so this is logged and nothing more
  let acceptFailures = 0
  let acceptLoggedAt = 0
  server.on('error', (err: NodeJS.ErrnoException) => {
    acceptFailures++
    // A flood fails many accepts a second: one line a second, with the count
    if (Date.now() - acceptLoggedAt < 1000) return
    acceptLoggedAt = Date.now()
    log.error({ err: err.message, code: err.code, failures: acceptFailures }, 'accept failed')
    acceptFailures = 0
  })
  const port = (server.address() as AddressInfo).port
  const dataDir = config.dataDir ?? '(none: in memory)'
  log.info({ port, bind: config.bind, dataDir }, 'Warren is listening for AMQP 0-9-1')

  let stopped: Promise<void> | undefined
  const stop = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    clients.closeAll('shutdown')
    // Give clients a moment to answer close-ok, then drop whoever has not
    const deadline = Date.now() + 2000
    while (streams.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    for (const s of streams) s.destroy()
    await closed
    await broker.close()
    log.info('Warren stopped')
  }
  return {
    port,
    broker,
    connections: clients.connections,
    handle(stream, peer = {}) {
      // The broker is stopping or stopped: nothing to serve the stream with
      if (stopped) {
        stream.destroy()
        return
      }
      // A socket (or TLS socket) knows its peer; any other stream is taken to be in-process, thus loopback
      const socket = stream as Partial<Socket>
      accept(stream, {
        remoteAddress: peer.remoteAddress ?? socket.remoteAddress ?? '127.0.0.1',
        remotePort: peer.remotePort ?? socket.remotePort ?? 0,
      })
    },
    // Once: a second call waits for the first
    stop: () => (stopped ??= stop()),
  }
}
