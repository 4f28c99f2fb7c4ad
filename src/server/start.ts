// Starts a broker listening on TCP: what main.ts runs, and what tests start in-process on port 0.
import { mkdir } from 'node:fs/promises'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { Broker } from '../broker/broker.js'
import type { MessageStoreOptions } from '../store/message-store.js'
import { DEFAULTS, type Config } from '../config/config.js'
import { createLogger } from '../util/logger.js'
import { Connection } from './connection.js'

export interface RunningServer {
  readonly port: number
  readonly broker: Broker
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
  const connections = new Set<Connection>()
  const sockets = new Set<Socket>()

  const server: Server = createServer((socket) => {
    socket.setNoDelay(true)
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    const info = { remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0 }
    connections.add(new Connection(broker, socket, info, (c) => connections.delete(c)))
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, config.bind, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  log.info({ port, bind: config.bind, dataDir: config.dataDir }, 'Warren is listening for AMQP 0-9-1')

  return {
    port,
    broker,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const c of connections) c.forceClose('shutdown')
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
