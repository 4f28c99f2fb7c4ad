// Starts a broker listening on TCP: what main.ts runs, and what tests start in-process on port 0.
import { mkdir } from 'node:fs/promises'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { Broker } from '../broker/broker.js'
import type { MessageStoreOptions } from '../store/message-store.js'
import { DEFAULTS, type Config } from '../config/config.js'
import { createLogger } from '../util/logger.js'
import type { Connection } from './connection.js'
import { Clients } from './clients.js'

export interface RunningServer {
  readonly port: number
  readonly broker: Broker
  /** The client connections open now (for tests and diagnostics) */
  readonly connections: ReadonlySet<Connection>
  /** Closes every connection with 320 CONNECTION_FORCED and stops listening. */
  stop(): Promise<void>
}

export async function startServer(
  options: Partial<Config> = {},
  storeOptions: MessageStoreOptions = {},
): Promise<RunningServer> {
  const config: Config = { ...DEFAULTS, ...options }
  const log = createLogger(config.logLevel)
  await mkdir(config.dataDir, { recursive: true })
  const broker = new Broker(config, log, storeOptions)
  await broker.open()
  broker.memoryAlarm.start()
  broker.diskAlarm.start()
  const clients = new Clients(broker)
  const sockets = new Set<Socket>()

  const server: Server = createServer((socket) => {
    if (config.maxConnections > 0 && sockets.size >= config.maxConnections) {
      // RabbitMQ's connection_max: the socket is closed at once, before the protocol header
      log.warn({ limit: config.maxConnections, client: socket.remoteAddress }, 'connection limit reached: refused')
      socket.on('error', () => {})
      socket.destroy()
      return
    }
    socket.setNoDelay(true)
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    const info = { remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0 }
    clients.accept(socket, info)
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, config.bind, () => {
      server.off('error', reject)
      resolve()
    })
  })
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
  log.info({ port, bind: config.bind, dataDir: config.dataDir }, 'Warren is listening for AMQP 0-9-1')

  return {
    port,
    broker,
    connections: clients.connections,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      clients.closeAll('shutdown')
      // Give clients a moment to answer close-ok, then drop whoever has not
      const deadline = Date.now() + 2000
      while (sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
      for (const s of sockets) s.destroy()
      await closed
      await broker.close()
      log.info('Warren stopped')
    },
  }
}
