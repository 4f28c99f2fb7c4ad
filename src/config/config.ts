// The broker's settings: command-line flags, then WARREN_* environment variables, then defaults.
import { totalmem } from 'node:os'
import { parseArgs } from 'node:util'

export interface Config {
  port: number
  bind: string
  /** Where durable definitions and persistent messages are kept; undefined keeps everything in memory */
  dataDir: string | undefined
  logLevel: string
  /** The first user, created on a fresh broker (RABBITMQ_DEFAULT_USER's counterpart) */
  defaultUser: string
  defaultPass: string
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
  bind: '0.0.0.0',
  dataDir: './data',
  logLevel: 'info',
  defaultUser: 'guest',
  defaultPass: 'guest',
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
  --port N          AMQP port (default 5672; env WARREN_PORT)
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
Environment: WARREN_DEFAULT_USER / WARREN_DEFAULT_PASS create the first user instead of guest/guest
(guest may connect from loopback only, as in RabbitMQ).`

function integer(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`--${name} must be an integer from ${min} to ${max}, got '${value}'`)
  return n
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
  return {
    port: integer('port', values.port ?? env['WARREN_PORT'], DEFAULTS.port, 0, 65535),
    bind: values.bind ?? env['WARREN_BIND'] ?? DEFAULTS.bind,
    dataDir: values['data-dir'] ?? env['WARREN_DATA_DIR'] ?? DEFAULTS.dataDir,
    logLevel: values['log-level'] ?? env['WARREN_LOG_LEVEL'] ?? DEFAULTS.logLevel,
    defaultUser: env['WARREN_DEFAULT_USER'] || DEFAULTS.defaultUser,
    defaultPass: env['WARREN_DEFAULT_PASS'] || DEFAULTS.defaultPass,
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
