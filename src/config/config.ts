// The broker's settings: command-line flags, then WARREN_* environment variables, then defaults.
import { totalmem } from 'node:os'
import { parseArgs } from 'node:util'

/** The amqps listener (RabbitMQ's listeners.ssl and ssl_options). */
export interface TlsConfig {
  port: number
  /** The server's certificate chain and private key: a file path, or the PEM itself (a string or Buffer) */
  cert: string | Buffer
  key: string | Buffer
  /** CA certificates that client certificates must chain to (a file path or PEM); default Node's roots */
  ca?: string | Buffer
  /** Ask clients for a certificate and refuse one that does not verify (ssl_options.verify = verify_peer) */
  verifyPeer?: boolean
  /** With verifyPeer, also refuse a client that sends no certificate (ssl_options.fail_if_no_peer_cert) */
  failIfNoPeerCert?: boolean
}

/** Where the EXTERNAL mechanism takes the user name from in a client certificate (ssl_cert_login_from). */
export type CertLoginFrom = 'distinguished_name' | 'common_name'

export interface Config {
  port: number
  /** Whether the plain AMQP listener (port) runs; false is RabbitMQ's listeners.tcp = none */
  tcpListener: boolean
  /** The amqps listener, if any */
  tls: TlsConfig | undefined
  /** The EXTERNAL mechanism's user name: the certificate's subject DN (RabbitMQ's default) or its CN */
  sslCertLoginFrom: CertLoginFrom
  bind: string
  /** Where durable definitions and persistent messages are kept; undefined keeps everything in memory */
  dataDir: string | undefined
  logLevel: string
  /** The first user, created on a fresh broker (RABBITMQ_DEFAULT_USER's counterpart) */
  defaultUser: string
  defaultPass: string
  /** The vhost created on a fresh broker, the default user given full access to it (RABBITMQ_DEFAULT_VHOST) */
  defaultVhost: string
  /** Users who may log in from a loopback address only (RabbitMQ's loopback_users) */
  loopbackUsers: string[]
  /** Seconds; 0 disables heartbeats */
  heartbeat: number
  frameMax: number
  channelMax: number
  /** Resident memory (bytes) above which publishers are blocked; default 40% of the machine's memory */
  memoryHighWatermark: number
  /** Bytes of ready message bodies kept in memory; beyond it persistent messages are paged out */
  messageMemoryBudget: number
  /** A definitions file (RabbitMQ's JSON format) imported at start */
  definitionsFile: string | undefined
  /** Free bytes on the data directory's file system below which publishers are blocked (disk_free_limit) */
  diskFreeLimit: number
  /** Most client connections at once; further ones are refused (0: no limit) */
  maxConnections: number
  /** Milliseconds a client may take from connecting to connection.open (RabbitMQ's handshake_timeout) */
  handshakeTimeout: number
  /** Milliseconds a delivery may stay unacked before its channel is closed with 406 (0: never) */
  consumerTimeout: number
  /** Largest message body accepted, in bytes (RabbitMQ's max_message_size) */
  maxMessageSize: number
  /** Bytes of output buffered for one connection above which it gets no more content until it reads */
  maxOutputBuffer: number
}

export const DEFAULTS: Config = {
  port: 5672,
  tcpListener: true,
  tls: undefined,
  // RabbitMQ's default (rabbit.app: {ssl_cert_login_from, distinguished_name})
  sslCertLoginFrom: 'distinguished_name',
  bind: '0.0.0.0',
  dataDir: './data',
  logLevel: 'info',
  defaultUser: 'guest',
  defaultPass: 'guest',
  defaultVhost: '/',
  loopbackUsers: ['guest'],
  heartbeat: 60,
  frameMax: 131072,
  channelMax: 2047,
  // RabbitMQ's vm_memory_high_watermark: 40% of the machine's memory
  memoryHighWatermark: Math.floor(totalmem() * 0.4),
  definitionsFile: undefined,
  // RabbitMQ starts paging messages out at half its memory watermark
  messageMemoryBudget: Math.floor(totalmem() * 0.2),
  // RabbitMQ's disk_free_limit default: 50 MB
  diskFreeLimit: 50_000_000,
  maxConnections: 0,
  // RabbitMQ's handshake_timeout
  handshakeTimeout: 10_000,
  // RabbitMQ's consumer_timeout: 30 minutes
  consumerTimeout: 30 * 60 * 1000,
  // RabbitMQ's max_message_size: 128 MiB
  maxMessageSize: 128 * 1024 * 1024,
  maxOutputBuffer: 1024 * 1024,
}

const USAGE = `Usage: warren [options]
  --port N          AMQP port (default 5672; env WARREN_PORT); 'none' turns the plain
                    listener off (RabbitMQ's listeners.tcp = none), e.g. for amqps only
  --tls-port N      also listen for AMQP over TLS (amqps) on this port (env WARREN_TLS_PORT;
                    RabbitMQ's usual one is 5671); needs --tls-cert and --tls-key
  --tls-cert FILE   the server's certificate chain, PEM (env WARREN_TLS_CERT)
  --tls-key FILE    its private key, PEM (env WARREN_TLS_KEY)
  --tls-ca FILE     CA certificates client certificates must chain to (env WARREN_TLS_CA)
  --tls-verify-peer ask clients for a certificate; refuse one that does not verify
                    (env WARREN_TLS_VERIFY_PEER=true)
  --tls-fail-if-no-peer-cert
                    with --tls-verify-peer, also refuse clients without a certificate
                    (env WARREN_TLS_FAIL_IF_NO_PEER_CERT=true)
  --ssl-cert-login-from distinguished_name|common_name
                    the user name the EXTERNAL mechanism takes from a client certificate
                    (default distinguished_name, as RabbitMQ)
  --bind ADDR       address to listen on (default 0.0.0.0; env WARREN_BIND)
  --data-dir DIR    data directory (default ./data; env WARREN_DATA_DIR)
  --log-level L     trace|debug|info|warn|error|silent (default info; env WARREN_LOG_LEVEL)
  --heartbeat S     heartbeat timeout proposed to clients, seconds (default 60)
  --frame-max N     largest frame accepted (default 131072)
  --channel-max N   most channels per connection (default 2047)
  --memory-high-watermark BYTES
                    block publishers above this resident memory (default 40% of RAM)
  --message-memory-budget BYTES
                    message bodies kept in memory; beyond it persistent messages of
                    durable queues are paged out to disk (default 20% of RAM)
  --definitions F   import exchanges, queues, bindings and policies from a RabbitMQ-format
                    JSON definitions file at start (env WARREN_DEFINITIONS)
  --disk-free-limit BYTES
                    block publishers when the data directory's file system has less free
                    space than this (default 50000000, as RabbitMQ's disk_free_limit)
  --max-connections N
                    refuse client connections beyond this many (default 0: no limit)
  --handshake-timeout MS
                    drop a client that has not opened its connection by then (default 10000)
  --consumer-timeout MS
                    close a channel with 406 when a delivery stays unacked this long
                    (default 1800000, 30 minutes; 0 = never)
  --max-message-size BYTES
                    largest message body accepted (default 134217728, 128 MiB)
  --max-output-buffer BYTES
                    output buffered for one connection before it gets no more content
                    until it reads (default 1048576)
  --loopback-users A,B
                    users who may log in from this machine only (default guest; empty:
                    none; env WARREN_LOOPBACK_USERS)
  -h, --help        this text
Environment: WARREN_DEFAULT_USER / WARREN_DEFAULT_PASS (or RABBITMQ_DEFAULT_USER / RABBITMQ_DEFAULT_PASS,
as containers set them; WARREN_* wins) create the first user instead of guest/guest; a user without a
password is an error (guest may connect from loopback only, as in RabbitMQ). WARREN_DEFAULT_VHOST (or
RABBITMQ_DEFAULT_VHOST) names the vhost created on a fresh broker instead of /.
TLS is TLS 1.2 or 1.3 only. The EXTERNAL mechanism (log in with a client certificate, no password) is
offered on amqps connections; the user it names must exist.`

function integer(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`--${name} must be an integer from ${min} to ${max}, got '${value}'`)
  return n
}

/**
 * The first user: WARREN_DEFAULT_USER/PASS, else RABBITMQ_DEFAULT_USER/PASS (what container images set), else
 * guest/guest. A user named without a password is refused rather than given the password "guest".
 */
function defaultUserFrom(env: NodeJS.ProcessEnv): { defaultUser: string; defaultPass: string } {
  const user = env['WARREN_DEFAULT_USER'] || env['RABBITMQ_DEFAULT_USER'] || undefined
  const pass = env['WARREN_DEFAULT_PASS'] || env['RABBITMQ_DEFAULT_PASS'] || undefined
  if (user !== undefined && pass === undefined) {
    throw new Error(
      `default user '${user}' has no password: set WARREN_DEFAULT_PASS (or RABBITMQ_DEFAULT_PASS) as well`,
    )
  }
  return { defaultUser: user ?? DEFAULTS.defaultUser, defaultPass: pass ?? DEFAULTS.defaultPass }
}

function flag(value: boolean | undefined, envValue: string | undefined): boolean {
  return value ?? (envValue === 'true' || envValue === '1')
}

/** The amqps listener from --tls-* flags and WARREN_TLS_* variables; undefined without a TLS port. */
function tlsConfig(
  values: {
    'tls-port'?: string | undefined
    'tls-cert'?: string | undefined
    'tls-key'?: string | undefined
    'tls-ca'?: string | undefined
    'tls-verify-peer'?: boolean | undefined
    'tls-fail-if-no-peer-cert'?: boolean | undefined
  },
  env: NodeJS.ProcessEnv,
): TlsConfig | undefined {
  const port = values['tls-port'] ?? env['WARREN_TLS_PORT']
  const cert = values['tls-cert'] ?? env['WARREN_TLS_CERT']
  const key = values['tls-key'] ?? env['WARREN_TLS_KEY']
  const ca = values['tls-ca'] ?? env['WARREN_TLS_CA']
  const verifyPeer = flag(values['tls-verify-peer'], env['WARREN_TLS_VERIFY_PEER'])
  const failIfNoPeerCert = flag(values['tls-fail-if-no-peer-cert'], env['WARREN_TLS_FAIL_IF_NO_PEER_CERT'])
  if (port === undefined || port === '') {
    if (cert || key || ca || verifyPeer || failIfNoPeerCert) throw new Error('the --tls-* options need --tls-port')
    return undefined
  }
  if (!cert || !key) throw new Error('--tls-port needs --tls-cert and --tls-key')
  if (failIfNoPeerCert && !verifyPeer) throw new Error('--tls-fail-if-no-peer-cert needs --tls-verify-peer')
  return {
    port: integer('tls-port', port, 5671, 0, 65535),
    cert,
    key,
    ...(ca ? { ca } : {}),
    verifyPeer,
    failIfNoPeerCert,
  }
}

/** A comma-separated list of user names; '' is the empty list, undefined is not given */
function userList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined
  return value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '')
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): Config | { help: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      'tls-port': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      'tls-verify-peer': { type: 'boolean' },
      'tls-fail-if-no-peer-cert': { type: 'boolean' },
      'ssl-cert-login-from': { type: 'string' },
      bind: { type: 'string' },
      'data-dir': { type: 'string' },
      'log-level': { type: 'string' },
      heartbeat: { type: 'string' },
      'frame-max': { type: 'string' },
      'channel-max': { type: 'string' },
      'memory-high-watermark': { type: 'string' },
      definitions: { type: 'string' },
      'message-memory-budget': { type: 'string' },
      'disk-free-limit': { type: 'string' },
      'max-connections': { type: 'string' },
      'handshake-timeout': { type: 'string' },
      'consumer-timeout': { type: 'string' },
      'max-message-size': { type: 'string' },
      'max-output-buffer': { type: 'string' },
      'loopback-users': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (values.help) return { help: USAGE }
  const portValue = values.port ?? env['WARREN_PORT']
  const tcpListener = portValue !== 'none'
  const tls = tlsConfig(values, env)
  if (!tcpListener && !tls) throw new Error('--port none turns off the only listener: give --tls-port as well')
  const loginFrom = values['ssl-cert-login-from'] ?? env['WARREN_SSL_CERT_LOGIN_FROM'] ?? DEFAULTS.sslCertLoginFrom
  if (loginFrom !== 'distinguished_name' && loginFrom !== 'common_name')
    throw new Error(`--ssl-cert-login-from must be distinguished_name or common_name, got '${loginFrom}'`)
  const { defaultUser, defaultPass } = defaultUserFrom(env)
  return {
    port: tcpListener ? integer('port', portValue, DEFAULTS.port, 0, 65535) : DEFAULTS.port,
    tcpListener,
    tls,
    sslCertLoginFrom: loginFrom,
    bind: values.bind ?? env['WARREN_BIND'] ?? DEFAULTS.bind,
    dataDir: values['data-dir'] ?? env['WARREN_DATA_DIR'] ?? DEFAULTS.dataDir,
    logLevel: values['log-level'] ?? env['WARREN_LOG_LEVEL'] ?? DEFAULTS.logLevel,
    defaultUser,
    defaultPass,
    defaultVhost: env['WARREN_DEFAULT_VHOST'] || env['RABBITMQ_DEFAULT_VHOST'] || DEFAULTS.defaultVhost,
    loopbackUsers: userList(values['loopback-users'] ?? env['WARREN_LOOPBACK_USERS']) ?? DEFAULTS.loopbackUsers,
    heartbeat: integer('heartbeat', values.heartbeat, DEFAULTS.heartbeat, 0, 65535),
    frameMax: integer('frame-max', values['frame-max'], DEFAULTS.frameMax, 4096, 0x7fff_ffff),
    channelMax: integer('channel-max', values['channel-max'], DEFAULTS.channelMax, 1, 65535),
    definitionsFile: values.definitions ?? env['WARREN_DEFINITIONS'] ?? undefined,
    messageMemoryBudget: integer(
      'message-memory-budget',
      values['message-memory-budget'],
      DEFAULTS.messageMemoryBudget,
      0,
      Number.MAX_SAFE_INTEGER,
    ),
    memoryHighWatermark: integer(
      'memory-high-watermark',
      values['memory-high-watermark'],
      DEFAULTS.memoryHighWatermark,
      0,
      Number.MAX_SAFE_INTEGER,
    ),
    diskFreeLimit: integer(
      'disk-free-limit',
      values['disk-free-limit'],
      DEFAULTS.diskFreeLimit,
      0,
      Number.MAX_SAFE_INTEGER,
    ),
    maxConnections: integer('max-connections', values['max-connections'], DEFAULTS.maxConnections, 0, 0x7fff_ffff),
    handshakeTimeout: integer(
      'handshake-timeout',
      values['handshake-timeout'],
      DEFAULTS.handshakeTimeout,
      100,
      0x7fff_ffff,
    ),
    consumerTimeout: integer('consumer-timeout', values['consumer-timeout'], DEFAULTS.consumerTimeout, 0, 0x7fff_ffff),
    // RabbitMQ's ceiling for max_message_size is 512 MiB
    maxMessageSize: integer(
      'max-message-size',
      values['max-message-size'],
      DEFAULTS.maxMessageSize,
      1,
      512 * 1024 * 1024,
    ),
    maxOutputBuffer: integer(
      'max-output-buffer',
      values['max-output-buffer'],
      DEFAULTS.maxOutputBuffer,
      4096,
      Number.MAX_SAFE_INTEGER,
    ),
  }
}
