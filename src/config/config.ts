// The broker's settings: command-line flags, then WARREN_* environment variables, then defaults.
import { totalmem } from 'node:os'
import { parseArgs } from 'node:util'

export interface Config {
  port: number
  bind: string
  dataDir: string
  logLevel: string
  /** The first user, created on a fresh broker (RABBITMQ_DEFAULT_USER's counterpart) */
  defaultUser: string
  defaultPass: string
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
}

export const DEFAULTS: Config = {
  port: 5672,
  bind: '0.0.0.0',
  dataDir: './data',
  logLevel: 'info',
  defaultUser: 'guest',
  defaultPass: 'guest',
  heartbeat: 60,
  frameMax: 131072,
  channelMax: 2047,
  // RabbitMQ's vm_memory_high_watermark: 40% of the machine's memory
  memoryHighWatermark: Math.floor(totalmem() * 0.4),
  definitionsFile: undefined,
  // RabbitMQ starts paging messages out at half its memory watermark
  messageMemoryBudget: Math.floor(totalmem() * 0.2),
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
  }
}
