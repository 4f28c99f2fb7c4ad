// Warren as a library: what `import { startBroker } from 'warren'` gives. An application's tests start a
// broker in-process (in memory, on a free port) and connect any AMQP 0-9-1 client to broker.url.
import type { Duplex } from 'node:stream'
import { DEFAULTS, type CertLoginFrom, type Config, type LogFormat, type TlsConfig } from './config/config.js'
import { startHttpEndpoints } from './management/endpoints.js'
import { openBroker, serve } from './server/start.js'
import type { Permission } from './auth/permissions.js'
import { FULL_ACCESS } from './broker/tenancy.js'

export type { Permission } from './auth/permissions.js'

/** A user besides the default one (guest/guest unless defaultUser/defaultPass say otherwise). */
export interface BrokerUser {
  name: string
  password: string
  /** RabbitMQ's user tags, e.g. ['administrator']; 'impersonator' may publish another user_id */
  tags?: string[]
  /**
   * Configure, write and read patterns (RabbitMQ's regular expressions) per vhost. Default: everything on
   * '/' ({ '/': { configure: '.*', write: '.*', read: '.*' } }); {} gives none (the user cannot open a vhost)
   */
  permissions?: Record<string, Permission>
}

/**
 * The command line's settings, every one optional, with the command line's defaults except two: without
 * `dataDir` nothing is written anywhere (durable queues and persistent messages live as long as the process),
 * and `host` is what the command line calls --bind.
 */
export interface BrokerOptions {
  /** TCP port; 0 picks a free one (broker.port says which). Default 5672 */
  port?: number
  /** Prometheus /metrics and /metrics/per-object on this port (0: a free one). Default: none */
  prometheusPort?: number
  /** The management HTTP API (RabbitMQ's paths) on this port (0: a free one). Default: none */
  managementPort?: number
  /** false: no plain (amqp) listener, only the TLS one (RabbitMQ's listeners.tcp = none). Default true */
  tcpListener?: boolean
  /**
   * An amqps listener: { port, cert, key, ca?, verifyPeer?, failIfNoPeerCert? }, cert, key and ca as file
   * paths or PEM (a string or Buffer). TLS 1.2 and 1.3 only. Port 0 picks a free one (broker.tlsPort)
   */
  tls?: TlsConfig
  /** The user name EXTERNAL takes from a client certificate. Default 'distinguished_name', as RabbitMQ */
  sslCertLoginFrom?: CertLoginFrom
  /** Address to listen on (--bind). Default '0.0.0.0' */
  host?: string
  /** Data directory (--data-dir); when absent, the broker keeps everything in memory and writes no file */
  dataDir?: string
  /** trace | debug | info | warn | error | silent (pino levels, lines on stdout). Default 'info' */
  logLevel?: string
  /** 'json' (one object a line, ISO times, level names) or 'text' (TIME LEVEL message key=value). Default 'json' */
  logFormat?: LogFormat
  /** The default user, created at start with every permission on '/'. Defaults guest / guest */
  defaultUser?: string
  defaultPass?: string
  /** Users who may connect from a loopback address only (RabbitMQ's loopback_users). Default ['guest'] */
  loopbackUsers?: string[]
  /** More users; a user named as the default one replaces it */
  users?: BrokerUser[]
  /**
   * Vhosts made at start besides the default one (defaultVhost, '/' unless said otherwise). The default
   * user, and each of `users`, get full access to all of them.
   */
  vhosts?: string[]
  /** The vhost made on a fresh broker (RABBITMQ_DEFAULT_VHOST). Default '/' */
  defaultVhost?: string
  /** A RabbitMQ-format JSON definitions file imported at start (--definitions) */
  definitions?: string
  /** Seconds proposed to clients; 0 disables heartbeats. Default 60 */
  heartbeat?: number
  /** Largest frame accepted. Default 131072 */
  frameMax?: number
  /** Most channels per connection. Default 2047 */
  channelMax?: number
  /** Resident memory in bytes above which publishers are blocked. Default 40% of the machine's memory */
  memoryHighWatermark?: number
  /** Bytes of message bodies kept in memory before persistent ones are paged out (with a dataDir only) */
  messageMemoryBudget?: number
  /** Free bytes on the data directory's file system below which publishers are blocked (with a dataDir) */
  diskFreeLimit?: number
  /** Most client connections at once; 0 = no limit (default) */
  maxConnections?: number
  /** Milliseconds a client may take to open its connection. Default 10000 */
  handshakeTimeout?: number
  /** Milliseconds a delivery may stay unacked before its channel is closed with 406; 0 = never */
  consumerTimeout?: number
  /** Largest message body accepted, in bytes. Default 128 MiB */
  maxMessageSize?: number
  /** Bytes of output buffered for one connection before it gets no more content until it reads */
  maxOutputBuffer?: number
}

/** The peer of a stream given to handle(): who the broker thinks is on the other end. */
export interface StreamPeer {
  remoteAddress?: string
  remotePort?: number
}

export interface WarrenBroker {
  /**
   * amqp://USER:PASS@HOST:PORT/ with the default user; HOST is 127.0.0.1 when listening on every address.
   * With the plain listener off, the amqps:// URL (as tlsUrl)
   */
  readonly url: string
  /** The port it listens on: the plain one, or the TLS one when tcpListener is false */
  readonly port: number
  /** amqps://USER:PASS@HOST:PORT/ when a TLS listener runs */
  readonly tlsUrl: string | undefined
  /** The management API's port, when the managementPort option asked for one */
  readonly managementPort: number | undefined
  /** The Prometheus endpoint's port (/metrics), when the prometheusPort option asked for one */
  readonly prometheusPort: number | undefined
  /** The TLS listener's port, when it runs */
  readonly tlsPort: number | undefined
  /** The address it listens on */
  readonly host: string
  /**
   * Serves one AMQP connection over any Duplex stream, no socket needed. A net or TLS socket's peer address
   * is its own; any other stream counts as loopback (so guest may log in) unless `peer` says otherwise.
   */
  handle(stream: Duplex, peer?: StreamPeer): void
  /** Closes every client connection with 320 CONNECTION_FORCED, stops listening and frees the port. */
  close(): Promise<void>
}

/** Options that are not Config's own fields (Config's bind and definitionsFile go by other names) */
const LIBRARY_ONLY = new Set(['host', 'definitions', 'users', 'vhosts'])
const NOT_OPTIONS = new Set(['bind', 'definitionsFile'])

function configFrom(options: BrokerOptions): Config {
  // A misspelt option (from JavaScript, or a cast) would otherwise be ignored without a word
  for (const key of Object.keys(options)) {
    if (!LIBRARY_ONLY.has(key) && (NOT_OPTIONS.has(key) || !(key in DEFAULTS)))
      throw new TypeError(`startBroker: unknown option '${key}'`)
  }
  // As with RABBITMQ_DEFAULT_USER: a user without a password is a mistake, not a user with guest's password
  if (options.defaultUser !== undefined && options.defaultPass === undefined)
    throw new TypeError(`startBroker: defaultUser '${options.defaultUser}' needs a defaultPass`)
  const { host, definitions, users: _users, vhosts: _vhosts, dataDir, ...settings } = options
  // Only settings given: a key present with the value undefined must not hide the default
  const given = Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined))
  return {
    ...DEFAULTS,
    ...given,
    bind: host ?? DEFAULTS.bind,
    dataDir,
    definitionsFile: definitions,
    // HTTP endpoints only when asked for: an embedded broker opens no port beyond its AMQP one
    managementPort: options.managementPort,
    prometheusPort: options.prometheusPort,
  }
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1'
  if (host === '::') return '[::1]'
  return host.includes(':') ? `[${host}]` : host
}

/** Starts a broker and resolves once it listens. */
export async function startBroker(options: BrokerOptions = {}): Promise<WarrenBroker> {
  const config = configFrom(options)
  const broker = await openBroker(config)
  // Before listening, so that no client can find the port before its user exists
  for (const name of options.vhosts ?? []) if (!broker.vhosts.has(name)) broker.createVhost(name)
  // The default user may use every vhost given here; so may each user given here, unless its permissions say
  for (const vhost of options.vhosts ?? []) broker.permissions.set(config.defaultUser, vhost, FULL_ACCESS)
  for (const user of options.users ?? []) {
    broker.users.add(user.name, user.password, user.tags ?? [])
    const everywhere = Object.fromEntries(
      [config.defaultVhost, ...(options.vhosts ?? [])].map((vhost): [string, Permission] => [vhost, FULL_ACCESS]),
    )
    for (const [vhost, permission] of Object.entries(user.permissions ?? everywhere)) {
      broker.permissions.set(user.name, vhost, permission)
    }
  }
  const server = await serve(broker)
  const endpoints = await startHttpEndpoints(server, config).catch(async (err: unknown) => {
    await server.stop()
    throw err
  })
  const credentials = `${encodeURIComponent(config.defaultUser)}:${encodeURIComponent(config.defaultPass)}`
  const tlsUrl =
    server.tlsPort === undefined ? undefined : `amqps://${credentials}@${urlHost(config.bind)}:${server.tlsPort}/`
  return {
    url: config.tcpListener ? `amqp://${credentials}@${urlHost(config.bind)}:${server.port}/` : tlsUrl!,
    port: server.port,
    tlsUrl,
    tlsPort: server.tlsPort,
    host: config.bind,
    handle: (stream, peer) => server.handle(stream, peer),
    managementPort: endpoints.managementPort,
    prometheusPort: endpoints.prometheusPort,
    close: async () => {
      await Promise.all([endpoints.close(), server.stop()])
    },
  }
}
