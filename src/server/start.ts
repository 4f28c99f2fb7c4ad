// Starts a broker listening on TCP and/or TLS: what main.ts runs, what tests start in-process on port 0, and
// what the library's startBroker (src/index.ts) builds on. openBroker restores the broker's state; serve
// listens and also takes connections over any Duplex stream (handle).
import { mkdir, readFile } from 'node:fs/promises'
import { createServer, Socket, type AddressInfo, type Server } from 'node:net'
import { createServer as createTlsServer, type TLSSocket, type TlsOptions } from 'node:tls'
import type { Duplex } from 'node:stream'
import { Broker } from '../broker/broker.js'
import type { MessageStoreOptions } from '../store/message-store.js'
import { DEFAULTS, type Config, type TlsConfig } from '../config/config.js'
import { createLogger, type Logger } from '../util/logger.js'
import type { Connection, ConnectionInfo } from './connection.js'
import { Clients } from './clients.js'

export interface RunningServer {
  /** The plain listener's port; the TLS one's when the plain listener is off (tcpListener: false) */
  readonly port: number
  /** The TLS (amqps) listener's port, if it runs */
  readonly tlsPort: number | undefined
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
  const log = createLogger(config.logLevel, config.logFormat)
  if (config.dataDir !== undefined) await mkdir(config.dataDir, { recursive: true })
  const broker = new Broker(config, log, storeOptions)
  await broker.open()
  broker.memoryAlarm.start()
  // With nothing on disk there is no disk to watch
  if (config.dataDir !== undefined) broker.diskAlarm.start()
  return broker
}

/**
 * A certificate, key or CA given as a file path or as PEM: PEM text (or a Buffer) is used as it is, anything
 * else is read as a file.
 */
async function pem(value: string | Buffer): Promise<string | Buffer> {
  if (Buffer.isBuffer(value) || value.includes('-----BEGIN')) return value
  return readFile(value)
}

/** The TLS server's options: TLS 1.2 and 1.3 only, peer verification as RabbitMQ's ssl_options. */
async function tlsOptions(tls: TlsConfig, handshakeTimeout: number): Promise<TlsOptions> {
  const verifyPeer = tls.verifyPeer === true
  return {
    cert: await pem(tls.cert),
    key: await pem(tls.key),
    ...(tls.ca !== undefined ? { ca: await pem(tls.ca) } : {}),
    minVersion: 'TLSv1.2',
    // verify_peer asks for a certificate; Node's rejectUnauthorized refuses a missing one as well as a bad
    // one, so without fail_if_no_peer_cert a bad one is refused once the handshake is done (see serve)
    requestCert: verifyPeer,
    rejectUnauthorized: verifyPeer && tls.failIfNoPeerCert === true,
    // The TLS handshake counts against the handshake timeout too (a client that never finishes it is cut)
    handshakeTimeout,
  }
}

/** Logs with at most one line a second (a flood of failing sockets must not flood the log), with the count. */
function throttledLog(log: Logger, level: 'error' | 'warn', message: string) {
  let count = 0
  let loggedAt = 0
  return (fields: Record<string, unknown>) => {
    count++
    if (Date.now() - loggedAt < 1000) return
    loggedAt = Date.now()
    log[level]({ ...fields, count }, message)
    count = 0
  }
}

function listen(server: Server, port: number, bind: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, bind, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

/**
 * Listens on config.port (unless tcpListener is false) and config.tls.port, on config.bind; both feed the
 * same clients. If listening fails, the broker is closed and the error thrown.
 */
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
  const acceptSocket = (socket: Socket) =>
    accept(socket, {
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      localAddress: socket.localAddress ?? '',
      localPort: socket.localPort ?? 0,
    })
  const servers: Server[] = []
  let tcpServer: Server | undefined
  let tlsServer: Server | undefined
  try {
    if (!config.tcpListener && !config.tls) throw new Error('no listener: the plain one is off and there is no TLS one')
    if (config.tcpListener) {
      tcpServer = createServer(acceptSocket)
      servers.push(tcpServer)
      await listen(tcpServer, config.port, config.bind)
    }
    if (config.tls) {
      const tlsFailed = throttledLog(log, 'warn', 'TLS handshake failed')
      const secure = createTlsServer(await tlsOptions(config.tls, config.handshakeTimeout), (socket: TLSSocket) => {
        // verify_peer without fail_if_no_peer_cert: no certificate is fine, a bad one is not
        const sentCert = (socket.getPeerCertificate().raw as Buffer | undefined) !== undefined
        if (config.tls?.verifyPeer && sentCert && !socket.authorized) {
          tlsFailed({ client: socket.remoteAddress, reason: String(socket.authorizationError) })
          socket.on('error', () => {})
          socket.destroy()
          return
        }
        acceptSocket(socket)
      })
      // A client that fails the TLS handshake (wrong version, unknown CA, no certificate, timeout) never
      // reaches AMQP: logged, and its socket is gone
      secure.on('tlsClientError', (err: NodeJS.ErrnoException, socket) => {
        tlsFailed({ client: socket.remoteAddress, err: err.message, code: err.code })
        socket.destroy()
      })
      tlsServer = secure
      servers.push(tlsServer)
      await listen(tlsServer, config.tls.port, config.bind)
    }
  } catch (error) {
    for (const server of servers) server.close()
    await broker.close()
    throw error
  }
  // After listen, an 'error' is an accept failing (EMFILE, ENFILE, ENOBUFS when descriptors or memory run
  // out): libuv drops the waiting connection and keeps listening, so this is logged and nothing more
  const acceptFailed = throttledLog(log, 'error', 'accept failed')
  for (const server of servers) {
    server.on('error', (err: NodeJS.ErrnoException) => acceptFailed({ err: err.message, code: err.code }))
  }
  const tcpPort = tcpServer ? (tcpServer.address() as AddressInfo).port : undefined
  const tlsPort = tlsServer ? (tlsServer.address() as AddressInfo).port : undefined
  const port = tcpPort ?? tlsPort ?? 0
  const dataDir = config.dataDir ?? '(none: in memory)'
  log.info({ port: tcpPort ?? 'none', tlsPort, bind: config.bind, dataDir }, 'Warren is listening for AMQP 0-9-1')

  let stopped: Promise<void> | undefined
  const stop = async () => {
    const closed = Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))))
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
    tlsPort,
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
        ...(socket.localAddress === undefined ? {} : { localAddress: socket.localAddress }),
        ...(socket.localPort === undefined ? {} : { localPort: socket.localPort }),
      })
    },
    // Once: a second call waits for the first
    stop: () => (stopped ??= stop()),
  }
}
