// The broker's settings: command-line flags, then environment variables, then the config file (rabbitmq.conf
// syntax), then defaults. Which flag, variable and key each setting has is in settings.ts; here each value
// is checked and turned into Config's field.
import { existsSync } from 'node:fs'
import { totalmem } from 'node:os'
import { extname } from 'node:path'
import { parseArgs } from 'node:util'
import { readConfFile, type ConfEntries } from './conf-file.js'
import { renderHelp } from './reference.js'
import { COMMANDS, SETTINGS, envNames, isKnownKey, settingByFlag } from './settings.js'
import { SettingError, boolean, integer, size, sizeOrFraction } from './units.js'
import { packageVersion } from './version.js'

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

/** How log lines are written (src/util/logger.ts; declared here so that src/config needs nothing outside it) */
export type LogFormat = 'json' | 'text'

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
  /** json lines (default) or text for a terminal (--log-format, log.console.formatter) */
  logFormat: LogFormat
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
  /** The management HTTP API's port (management.tcp.port); undefined: off */
  managementPort: number | undefined
  /** The Prometheus endpoint's port (prometheus.tcp.port); undefined: off */
  prometheusPort: number | undefined
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
  logFormat: 'json',
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
  // RabbitMQ's rabbitmq_management and rabbitmq_prometheus ports
  managementPort: 15672,
  prometheusPort: 15692,
}

/** pino's levels, and RabbitMQ's names for them (log.console.level) */
const LOG_LEVELS: ReadonlyMap<string, string> = new Map([
  ...['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].map((l) => [l, l] as const),
  ['notice', 'info'],
  ['warning', 'warn'],
  ['critical', 'fatal'],
  ['alert', 'fatal'],
  ['emergency', 'fatal'],
  ['none', 'silent'],
])

/** The log forms, and RabbitMQ's name for text (log.console.formatter = plaintext) */
const LOG_FORMAT_NAMES: ReadonlyMap<string, LogFormat> = new Map([
  ['json', 'json'],
  ['text', 'text'],
  ['plaintext', 'text'],
])

/** A raw value and where it came from: the flag, the variable or file:line key, for messages */
interface Raw {
  value: string
  from: string
}

/** RabbitMQ's RABBITMQ_CONFIG_FILE may leave out the .conf extension */
function confPath(path: string): string {
  if (!existsSync(path) && extname(path) === '' && existsSync(`${path}.conf`)) return `${path}.conf`
  return path
}

/** A comma-separated list of user names; '' and 'none' are the empty list */
function userList(value: string): string[] {
  if (value.trim() === 'none') return []
  return value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '')
}

export type ParseResult = Config | { help: string } | { version: string }

export interface ParseOptions {
  /** Where warnings go (unknown keys in the config file); default stderr */
  warn?: (message: string) => void
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv, options: ParseOptions = {}): ParseResult {
  const warn = options.warn ?? ((message: string) => console.error(`warren: warning: ${message}`))
  const flags = Object.fromEntries([
    ...SETTINGS.filter((s) => !s.noFlag).map((s) => [s.flag, { type: s.arg === undefined ? 'boolean' : 'string' }]),
    ...COMMANDS.map((c) => [c.flag, { type: 'boolean', short: c.short }]),
  ]) as Record<string, { type: 'string' | 'boolean'; short?: string }>
  const { values } = parseArgs({ args: argv, options: flags, strict: true })
  if (values['help']) return { help: renderHelp() }
  if (values['version']) return { version: packageVersion() }

  const fromFlagOrEnv = (flag: string): Raw | undefined => {
    const setting = settingByFlag(flag)
    const given = setting.noFlag ? undefined : values[flag]
    if (given !== undefined) return { value: String(given), from: `--${flag}` }
    for (const name of envNames(setting)) {
      const value = env[name]
      // An empty variable is an unset one (compose files write FOO= for "not set")
      if (value !== undefined && value !== '') return { value, from: name }
    }
    return undefined
  }
  const configFile = fromFlagOrEnv('config')
  const entries: ConfEntries = configFile ? readConfFile(confPath(configFile.value)) : new Map()
  for (const entry of entries.values()) {
    if (!isKnownKey(entry.key)) warn(`${entry.where}: unknown setting '${entry.key}' ignored`)
  }
  const raw = (flag: string): Raw | undefined => {
    const given = fromFlagOrEnv(flag)
    if (given) return given
    const setting = settingByFlag(flag)
    for (const key of setting.keys) {
      const entry = entries.get(key)
      if (entry) return { value: entry.value, from: `${entry.where}: ${key}` }
    }
    const derived = setting.fromFile?.(entries)
    return derived === undefined ? undefined : { value: derived, from: `${configFile?.value}: ${flag}` }
  }
  const text = (flag: string, fallback: string): string => raw(flag)?.value ?? fallback
  const int = (flag: string, fallback: number, min: number, max: number): number => {
    const r = raw(flag)
    return r === undefined ? fallback : integer(r.from, r.value, min, max)
  }
  const bytes = (flag: string, fallback: number, min: number, max: number): number => {
    const r = raw(flag)
    return r === undefined ? fallback : size(r.from, r.value, min, max)
  }
  const bytesOfRam = (flag: string, fallback: number): number => {
    const r = raw(flag)
    return r === undefined ? fallback : sizeOrFraction(r.from, r.value, totalmem(), Number.MAX_SAFE_INTEGER)
  }
  const on = (flag: string): boolean => {
    const r = raw(flag)
    return r === undefined ? false : boolean(r.from, r.value)
  }
  const optionalPort = (flag: string, fallback: number | undefined): number | undefined => {
    const r = raw(flag)
    if (r === undefined) return fallback
    return r.value === 'none' ? undefined : integer(r.from, r.value, 0, 65535)
  }

  const tcpListener = raw('port')?.value !== 'none'
  const tls = tlsConfig(raw, on)
  if (!tcpListener && !tls) throw new SettingError('--port none turns off the only listener: give --tls-port as well')
  const loginFrom = text('ssl-cert-login-from', DEFAULTS.sslCertLoginFrom)
  if (loginFrom !== 'distinguished_name' && loginFrom !== 'common_name')
    throw new SettingError(`--ssl-cert-login-from must be distinguished_name or common_name, got '${loginFrom}'`)
  const level = raw('log-level')
  const logLevel = level === undefined ? DEFAULTS.logLevel : LOG_LEVELS.get(level.value)
  if (logLevel === undefined)
    throw new SettingError(`${level?.from} must be one of ${[...LOG_LEVELS.keys()].join(', ')}, got '${level?.value}'`)
  const format = raw('log-format')
  const logFormat = format === undefined ? DEFAULTS.logFormat : LOG_FORMAT_NAMES.get(format.value)
  if (logFormat === undefined)
    throw new SettingError(`${format?.from} must be json or text (or plaintext), got '${format?.value}'`)
  const user = raw('default-user')
  const pass = raw('default-pass')
  // A user named without a password is refused rather than given the password "guest"
  if (user !== undefined && pass === undefined) {
    throw new SettingError(
      `default user '${user.value}' has no password: set WARREN_DEFAULT_PASS (or RABBITMQ_DEFAULT_PASS, or default_pass in the config file) as well`,
    )
  }
  const connectionMax = raw('max-connections')
  return {
    port: tcpListener ? int('port', DEFAULTS.port, 0, 65535) : DEFAULTS.port,
    tcpListener,
    tls,
    sslCertLoginFrom: loginFrom,
    bind: text('bind', DEFAULTS.bind),
    dataDir: text('data-dir', DEFAULTS.dataDir ?? './data'),
    logLevel,
    logFormat,
    defaultUser: user?.value ?? DEFAULTS.defaultUser,
    defaultPass: pass?.value ?? DEFAULTS.defaultPass,
    defaultVhost: text('default-vhost', DEFAULTS.defaultVhost),
    loopbackUsers: userList(text('loopback-users', DEFAULTS.loopbackUsers.join(','))),
    heartbeat: int('heartbeat', DEFAULTS.heartbeat, 0, 65535),
    frameMax: int('frame-max', DEFAULTS.frameMax, 4096, 0x7fff_ffff),
    channelMax: int('channel-max', DEFAULTS.channelMax, 1, 65535),
    definitionsFile: raw('definitions')?.value ?? DEFAULTS.definitionsFile,
    memoryHighWatermark: bytesOfRam('memory-high-watermark', DEFAULTS.memoryHighWatermark),
    messageMemoryBudget: bytesOfRam('message-memory-budget', DEFAULTS.messageMemoryBudget),
    diskFreeLimit: bytesOfRam('disk-free-limit', DEFAULTS.diskFreeLimit),
    // RabbitMQ writes "no limit" as connection_max = infinity
    maxConnections:
      connectionMax?.value === 'infinity' ? 0 : int('max-connections', DEFAULTS.maxConnections, 0, 0x7fff_ffff),
    handshakeTimeout: int('handshake-timeout', DEFAULTS.handshakeTimeout, 100, 0x7fff_ffff),
    consumerTimeout: int('consumer-timeout', DEFAULTS.consumerTimeout, 0, 0x7fff_ffff),
    // RabbitMQ's ceiling for max_message_size is 512 MiB
    maxMessageSize: bytes('max-message-size', DEFAULTS.maxMessageSize, 1, 512 * 1024 * 1024),
    maxOutputBuffer: bytes('max-output-buffer', DEFAULTS.maxOutputBuffer, 4096, Number.MAX_SAFE_INTEGER),
    managementPort: optionalPort('management-port', DEFAULTS.managementPort),
    prometheusPort: optionalPort('prometheus-port', DEFAULTS.prometheusPort),
  }
}

/** The amqps listener; undefined without a TLS port. */
function tlsConfig(raw: (flag: string) => Raw | undefined, on: (flag: string) => boolean): TlsConfig | undefined {
  const port = raw('tls-port')
  const cert = raw('tls-cert')?.value
  const key = raw('tls-key')?.value
  const ca = raw('tls-ca')?.value
  const verifyPeer = on('tls-verify-peer')
  const failIfNoPeerCert = on('tls-fail-if-no-peer-cert')
  if (port === undefined || port.value === 'none') {
    if (cert || key || ca || verifyPeer || failIfNoPeerCert)
      throw new SettingError('the --tls-* options need --tls-port')
    return undefined
  }
  if (!cert || !key) throw new SettingError('--tls-port needs --tls-cert and --tls-key')
  if (failIfNoPeerCert && !verifyPeer) throw new SettingError('--tls-fail-if-no-peer-cert needs --tls-verify-peer')
  return {
    port: integer(port.from, port.value, 0, 65535),
    cert,
    key,
    ...(ca ? { ca } : {}),
    verifyPeer,
    failIfNoPeerCert,
  }
}
