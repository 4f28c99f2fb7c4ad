import { parseArgs } from 'node:util'

export type AckMode = 'auto' | 'manual'

/** How RPC clients receive replies: their own server-named queue, or RabbitMQ's direct reply-to. */
export type ReplyStyle = 'reply-queue' | 'direct-reply-to'

/** The request/reply round-trip mode (--rpc). */
export interface RpcOptions {
  /** server connections: consume requests, publish replies */
  servers: number
  /** client connections: publish requests, consume replies */
  clients: number
  /** requests each client keeps in flight */
  inflight: number
  replyStyle: ReplyStyle
}

export interface BenchOptions {
  url: string
  publishers: number
  consumers: number
  /** message body size in bytes */
  size: number
  /** messages per publisher (count mode), or null in duration mode */
  count: number | null
  /** seconds to publish for (duration mode), or null in count mode */
  duration: number | null
  /** max unconfirmed messages per publisher; 0 = confirms off */
  confirm: number
  persistent: boolean
  ack: AckMode
  multiAck: number
  prefetch: number
  /** queue to use, or null for a fresh name per run */
  queue: string | null
  durableQueue: boolean
  keepQueue: boolean
  exchange: string
  /** routing key, or null for the queue name */
  routingKey: string | null
  /** msgs/s per publisher; 0 = unlimited */
  rate: number
  json: boolean
  brokerPid: number | null
  /** seconds to wait for consumers once publishing has stopped (RPC: for a reply) */
  drainTimeout: number
  /** RPC round-trip mode, or null for the publish/consume mode */
  rpc: RpcOptions | null
}

export const DEFAULT_DURATION_SECONDS = 10

export const USAGE = `Usage: warren-bench [options]

Load generator for AMQP 0-9-1 brokers (Warren, RabbitMQ, LavinMQ, ...).

Connection and topology
  --url URL              broker URL (default amqp://guest:guest@127.0.0.1:5672/)
  --queue NAME           queue to use (default: a fresh warren-bench-* queue)
  --durable-queue        declare the queue durable
  --keep-queue           do not delete the queue at the end
  --exchange NAME        exchange to publish to (default: the default exchange);
                         the queue is bound to it with the routing key
  --routing-key KEY      routing key (default: the queue name)

Load
  --publishers N         publisher connections, one worker thread each (default 1)
  --consumers N          consumer connections, one worker thread each (default 1)
  --size BYTES           body size; >= 8 to measure latency (default 16)
  --count N              messages per publisher, then wait until all are consumed
  --duration SECONDS     publish for this long instead (default ${DEFAULT_DURATION_SECONDS} if no --count)
  --rate N               msgs/s per publisher, 0 = unlimited (default 0)
  --confirm N            publisher confirms, at most N unconfirmed; 0 = off (default 0)
  --persistent           publish with delivery_mode 2
  --ack auto|manual      auto = no-ack consume, manual = basic.ack (default manual)
  --multi-ack N          manual ack: ack every N deliveries with multiple=true (default 1)
  --prefetch N           manual ack: basic.qos prefetch count, 0 = unlimited (default 0)
  --drain-timeout SECS   once publishing stops, wait at most this long for
                         consumers (count mode: without progress) (default 5)

RPC round trips
  --rpc                  measure request/reply round trips instead: clients
                         publish requests with reply_to and correlation_id to
                         the queue, servers consume them (--ack and --prefetch
                         apply) and publish each body back to its reply_to.
                         --count is requests per client; --size, --persistent
                         and the queue and exchange options apply to requests;
                         a client waits --drain-timeout at most for a reply
  --rpc-servers N        server connections, one worker thread each (default 1)
  --rpc-clients N        client connections, one worker thread each (default 1)
  --rpc-inflight N       requests each client keeps in flight (default 1)
  --reply-queue          each client consumes replies from its own exclusive
                         server-named queue (the default)
  --direct-reply-to      clients consume replies from amq.rabbitmq.reply-to

Output
  --json                 print one JSON object with all results on stdout
                         (progress lines go to stderr)
  --broker-pid PID       sample that process's RSS and CPU every second
  -h, --help             show this help
`

export class UsageError extends Error {}

/** The integer value of option --`name`, or `fallback` if it is absent; a UsageError if below `min`. */
export function integer(name: string, text: string | undefined, fallback: number, min = 0): number {
  if (text === undefined) return fallback
  const value = Number(text)
  if (!Number.isSafeInteger(value) || value < min) throw new UsageError(`--${name} must be an integer >= ${min}`)
  return value
}

function positiveNumber(name: string, text: string | undefined): number | null {
  if (text === undefined) return null
  const value = Number(text)
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`--${name} must be a number > 0`)
  return value
}

/** Returns null when help was asked for. Throws UsageError on bad input. */
export function parseOptions(argv: string[]): BenchOptions | null {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      url: { type: 'string', default: 'amqp://guest:guest@127.0.0.1:5672/' },
      publishers: { type: 'string' },
      consumers: { type: 'string' },
      size: { type: 'string' },
      count: { type: 'string' },
      duration: { type: 'string' },
      confirm: { type: 'string' },
      persistent: { type: 'boolean', default: false },
      ack: { type: 'string', default: 'manual' },
      'multi-ack': { type: 'string' },
      prefetch: { type: 'string' },
      queue: { type: 'string' },
      'durable-queue': { type: 'boolean', default: false },
      'keep-queue': { type: 'boolean', default: false },
      exchange: { type: 'string', default: '' },
      'routing-key': { type: 'string' },
      rate: { type: 'string' },
      json: { type: 'boolean', default: false },
      'broker-pid': { type: 'string' },
      'drain-timeout': { type: 'string' },
      rpc: { type: 'boolean', default: false },
      'rpc-servers': { type: 'string' },
      'rpc-clients': { type: 'string' },
      'rpc-inflight': { type: 'string' },
      'reply-queue': { type: 'boolean', default: false },
      'direct-reply-to': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) return null
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`)

  const ack = values.ack
  if (ack !== 'auto' && ack !== 'manual') throw new UsageError('--ack must be auto or manual')
  if (values.count !== undefined && values.duration !== undefined) {
    throw new UsageError('give either --count or --duration, not both')
  }
  const count = values.count === undefined ? null : integer('count', values.count, 0, 1)
  const duration = count === null ? (positiveNumber('duration', values.duration) ?? DEFAULT_DURATION_SECONDS) : null

  const options: BenchOptions = {
    url: values.url,
    publishers: integer('publishers', values.publishers, 1),
    consumers: integer('consumers', values.consumers, 1),
    size: integer('size', values.size, 16),
    count,
    duration,
    confirm: integer('confirm', values.confirm, 0),
    persistent: values.persistent,
    ack,
    multiAck: integer('multi-ack', values['multi-ack'], 1, 1),
    prefetch: integer('prefetch', values.prefetch, 0),
    queue: values.queue ?? null,
    durableQueue: values['durable-queue'],
    keepQueue: values['keep-queue'],
    exchange: values.exchange,
    routingKey: values['routing-key'] ?? null,
    rate: integer('rate', values.rate, 0),
    json: values.json,
    brokerPid: values['broker-pid'] === undefined ? null : integer('broker-pid', values['broker-pid'], 0, 1),
    drainTimeout: positiveNumber('drain-timeout', values['drain-timeout']) ?? 5,
    rpc: null,
  }
  if (values.rpc) {
    // Options of the publish/consume mode that mean nothing for round trips
    for (const name of ['publishers', 'consumers', 'confirm', 'rate', 'multi-ack'] as const) {
      if (values[name] !== undefined) throw new UsageError(`--${name} does not apply to --rpc`)
    }
    if (values['reply-queue'] && values['direct-reply-to']) {
      throw new UsageError('give either --reply-queue or --direct-reply-to, not both')
    }
    options.publishers = 0
    options.consumers = 0
    options.rpc = {
      servers: integer('rpc-servers', values['rpc-servers'], 1, 1),
      clients: integer('rpc-clients', values['rpc-clients'], 1, 1),
      inflight: integer('rpc-inflight', values['rpc-inflight'], 1, 1),
      replyStyle: values['direct-reply-to'] ? 'direct-reply-to' : 'reply-queue',
    }
    if (options.prefetch > 65535) throw new UsageError('--prefetch must be <= 65535')
    return options
  }
  for (const name of ['rpc-servers', 'rpc-clients', 'rpc-inflight', 'reply-queue', 'direct-reply-to'] as const) {
    const given = values[name]
    if (given !== undefined && given !== false) throw new UsageError(`--${name} needs --rpc`)
  }
  if (options.publishers === 0 && options.consumers === 0)
    throw new UsageError('nothing to do: no publishers, no consumers')
  if (options.prefetch > 0 && options.multiAck > options.prefetch) {
    // The consumer would wait for more deliveries than the broker will send unacked
    throw new UsageError('--multi-ack must not exceed --prefetch')
  }
  if (options.prefetch > 65535) throw new UsageError('--prefetch must be <= 65535')
  return options
}
